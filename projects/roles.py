"""The staff roles: which models the Editors and Viewers groups hold permissions on."""

TRACKED = {
    "partners": ["partner"],
    "projects": ["field", "program", "source", "project", "activity", "statusreport", "programevent", "citation"],
}
ALL_ACTIONS = ["view", "add", "change", "delete"]
