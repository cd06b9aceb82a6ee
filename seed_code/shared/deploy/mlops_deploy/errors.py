"""The error of settings that do not describe a project to deploy."""


class SettingsError(ValueError):
    """The environment does not describe a project to deploy."""
