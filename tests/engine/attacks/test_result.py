import numpy as np

from engine.attacks.result import AttackResult
from engine.types import LabelScore, Prediction


def test_json_round_trip():
    p = Prediction((LabelScore(3, "ml", 0.9, True), LabelScore(1, "db", 0.2, None)))
    r = AttackResult("hsj", "features", "top1", None, True, 120, 0.5, p, Prediction(p.labels[::-1]), 0.3, 0.1, None,
                     [("learning", 0.2, 0.0)], "a b", None, np.array([0.5, 0.25], dtype=np.float32), {"eps": None})
    back = AttackResult.from_json(r.to_json())
    assert back.before == r.before and back.after == r.after
    assert back.changed == [("learning", 0.2, 0.0)]
    assert np.array_equal(back.adversarial_vector, r.adversarial_vector)
    assert back.params == {"eps": None} and back.queries == 120
