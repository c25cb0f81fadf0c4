from engine.labels import display_names, shared_prefix


def test_shared_prefix_and_escapes_are_dropped_for_display():
    raw = ["TAG_children", "TAG_m\\'usica", "TAG_2.0"]
    assert shared_prefix(raw) == "TAG_"
    assert display_names(raw) == ["children", "m'usica", "2.0"]


def test_no_prefix_when_not_every_label_has_it():
    raw = ["TAG_a", "b", "TAG_c"]
    assert shared_prefix(raw) == "" and display_names(raw) == raw
    assert display_names(["Class1", "Class2"]) == ["Class1", "Class2"]


def test_a_name_that_would_be_empty_or_collide_keeps_its_raw_form():
    assert shared_prefix(["TAG_", "TAG_x"]) == ""
    assert display_names(["TAG_a\\b", "TAG_ab"]) == ["TAG_a\\b", "TAG_ab"]
