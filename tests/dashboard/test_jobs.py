from dashboard import jobs


def test_each_splits_the_bar_over_items_and_names_them():
    seen = []
    out = jobs.each(["a", "b"], lambda f, msg="": seen.append((round(f, 3), msg)) or True,
                    lambda item, part: (part(0.5, "half"), part(1.0, "done"), item.upper())[-1])
    assert out == {"a": "A", "b": "B"}
    assert seen == [(0.25, "a: half"), (0.5, "a: done"), (0.75, "b: half"), (1.0, "b: done")]
    assert jobs.each(["x"], None, lambda item, part: part) == {"x": None}  # no bar: no parts
