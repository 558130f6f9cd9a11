r"""Refusing a bad config value the same way in every model: the message names the config key,
what it must be, and what it got, so a user can find the line in their ``.yaml``."""


def checked_choice(key, value, choices):
    r"""``value`` if it is one of ``choices``, else a ValueError naming the config ``key``."""
    if value not in choices:
        raise ValueError(f"config key {key} must be one of {tuple(choices)}, got {value!r}")
    return value


def checked_bool(key, value):
    r"""``value`` if it is a bool, else a ValueError naming the config ``key`` (``bool("False")`` is True)."""
    if not isinstance(value, bool):
        raise ValueError(f"config key {key} must be True or False, got {value!r}")
    return value


def config_value(config, key, default=None):
    r"""``config[key]``, or ``default`` when the key is missing or None (RecBole's Config answers
    None for a missing key; a plain dict raises KeyError)."""
    try:
        value = config[key]
    except KeyError:
        return default
    return default if value is None else value
