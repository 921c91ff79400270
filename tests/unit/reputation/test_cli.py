import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from reputation.__main__ import main
from reputation.metrics import average_precision, roc_auc

RATINGS = """rater,ratee,value,time,amount,rater_role,ratee_role,transaction
a,s,positive,2024-01-01T10:00:00Z,2500,buyer,seller,t1
b,s,positive,1704103200,,buyer,seller,t2
c,s,negative,2024-01-03T10:00:00+00:00,900,buyer,seller,t3
s,a,1,2024-01-04T10:00:00Z,2500,seller,buyer,t1
d,e,-0.5,1704103200,,,,
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(RATINGS)
    labels = tmp_path / "labels.csv"
    labels.write_text("user,label\ne,1\ns,0\na,0\nnobody,1\n")
    return ratings, labels


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_score_writes_one_row_per_user(files, capsys):
    assert main(["score", str(files[0])]) == 0
    rows = _rows(capsys.readouterr().out)
    assert {r["user"] for r in rows} == {"a", "b", "c", "d", "e", "s"}
    s = next(r for r in rows if r["user"] == "s")
    assert {"trust", "confidence", "feedback_score", "percent_positive"} <= s.keys()
    assert s["feedback_score"] == "1"
    assert float(s["percent_positive"]) == pytest.approx(200 / 3)
    assert 0 <= float(s["trust"]) <= 1


def test_score_with_roles_and_output_file(files, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(files[0]), "--roles", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    rows = _rows(out.read_text())
    assert ("s", "seller") in {(r["user"], r["role"]) for r in rows}
    assert ("s", "") in {(r["user"], r["role"]) for r in rows}


def test_scale_maps_numeric_ratings(tmp_path, capsys):
    path = tmp_path / "stars.csv"
    path.write_text("rater,ratee,value,time\na,b,5,0\nc,b,1,0\nd,b,3,0\n")
    assert main(["score", str(path), "--scale", "1,5"]) == 0
    b = next(r for r in _rows(capsys.readouterr().out) if r["user"] == "b")
    assert (b["feedback_score"], b["percent_positive"]) == ("0", "50.000000")


def test_bad_file_is_an_error_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("rater,ratee,value\na,b,1\n")
    assert main(["score", str(path)]) == 2
    assert "time" in capsys.readouterr().err
    path.write_text("rater,ratee,value,time\na,b,great,0\n")
    assert main(["score", str(path)]) == 2


def test_evaluate_prints_json(files, capsys):
    assert main(["evaluate", str(files[0]), str(files[1]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"roc_auc", "average_precision", "n_bad", "n_good"}
    assert (result["n_bad"], result["n_good"]) == (2, 2)
    assert 0 <= result["roc_auc"] <= 1


def test_module_runs_as_a_program(files):
    done = subprocess.run(
        [sys.executable, "-m", "reputation", "evaluate", str(files[0]), str(files[1])],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert "ROC AUC" in done.stdout


def test_roc_auc_and_average_precision_match_known_values():
    y = np.array([1, 0, 1, 0, 1])
    s = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    assert roc_auc(s, y) == pytest.approx(3 / 6)
    # Precision at each positive: 1/1, 2/3, 3/5.
    assert average_precision(s, y) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    assert roc_auc(np.ones(4), np.array([1, 0, 1, 0])) == 0.5


def test_reputation_never_imports_the_app_stack():
    code = (
        "import sys, reputation, reputation.__main__; "
        "bad = {'flask', 'sqlalchemy', 'app'} & set(sys.modules); print(sorted(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    assert done.stdout.strip() == "[]"
