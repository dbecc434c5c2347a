from tests.projects.workloads import spire  # noqa: F401  (fixture)
