"""The web console at ``/console`` (README "Console"): the directory, provisioning requests,
the request journal, fault switches and reset, in a browser, behind the admin token."""
