"""Authentication: access tokens and the machine login methods that issue them."""
