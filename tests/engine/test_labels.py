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


def test_label_index_searches_display_names_and_maps_only_what_differs():
    from engine.labels import LabelIndex

    ix = LabelIndex(["TAG_ab", "TAG_b", "TAG_cab", "TAG_m\\'usica"])
    assert ix.search("B") == [1, 0, 2]  # exact, then starts with, then contains; case-insensitive
    assert ix.search("b", limit=2) == [1, 0] and ix.search("") == [] and ix.search("zz") == []
    assert ix.search("m'us") == [3] and ix.display(3) == "m'usica"  # display names are what is searched
    assert ix.get("TAG_cab") == "cab" and len(ix) == 4 and ix.get("other", "other") == "other"
    plain = LabelIndex(["x1", "x2"])
    assert len(plain) == 0 and not plain and plain.get("x1", "x1") == "x1"  # nothing to map: empty
    odd = LabelIndex(["a\nb", "İstanbul", "stan"])  # a newline inside a name; a lower case of another length
    assert odd.search("a b") == [0] and odd.search("stan") == [2, 1]
