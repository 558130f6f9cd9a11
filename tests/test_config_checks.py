import pytest

from recbole_darec.config_checks import checked_choice


def test_a_listed_value_comes_back_unchanged():
    assert checked_choice("reg_scope", "tables", ("batch", "tables")) == "tables"


def test_an_unlisted_value_is_refused_naming_key_choices_and_value():
    with pytest.raises(ValueError) as error:
        checked_choice("reg_scope", "everything", ["batch", "tables"])
    assert str(error.value) == (
        "config key reg_scope must be one of ('batch', 'tables'), got 'everything'"
    )


def test_a_value_of_the_wrong_type_is_refused_not_coerced():
    with pytest.raises(ValueError, match="got 1"):
        checked_choice("darec_matching", 1, ("greedy", "hungarian"))
