from strongroom.cli.main import app

app()
