"""Where each benchmark dataset's files come from, with their sha256 checksums."""
from __future__ import annotations

from dataclasses import dataclass

MULAN = "https://raw.githubusercontent.com/tsoumakas/mulan/43f6389095ad71984264db4387a8074b22bc7d4a/data/multi-label"
TUEBINGEN = "https://raw.githubusercontent.com/lehneres/edu.uni-tuebingen/3faf6f0c5b4cbfbbe048b4d59fbeafde5ae39195/data"


@dataclass(frozen=True)
class SourceFile:
    relpath: str  # path under the data directory
    url: str
    sha256: str | None  # None: no checksum is known (cannot be verified)
    size: int | None = None


@dataclass(frozen=True)
class DatasetSource:
    name: str
    n_labels: int
    train: str
    test: str | None  # None: no official test file (sample: split deterministically)
    labels_xml: str
    files: tuple[SourceFile, ...]
    kind: str  # "text" | "dense"
    is_sample: bool = False
    note: str = ""


BIBTEX = DatasetSource(
    name="bibtex",
    n_labels=159,
    train="bibtex/bibtex-train.arff",
    test="bibtex/bibtex-test.arff",
    labels_xml="bibtex/bibtex.xml",
    kind="text",
    note="official Mulan split: train = bibtex-train.arff, test = bibtex-test.arff.",
    files=(
        SourceFile("bibtex/bibtex-train.arff", f"{MULAN}/bibtex/bibtex-train.arff",
                   "8dcc9de6e0b2cebaec8c1f4fac78431adeeb73cfd3ab879b530a66d366e59174", 2292961),
        SourceFile("bibtex/bibtex-test.arff", f"{MULAN}/bibtex/bibtex-test.arff",
                   "9b03329cde64d3f994bdf7fbbac3f3b10fe185c311cb9ae725475f59c7f3f922", 1215637),
        SourceFile("bibtex/bibtex.xml", f"{MULAN}/bibtex/bibtex.xml",
                   "08fe20013c1e75dcf1888c185f5187c95e76495b8518ce289b4d3afce38d1232", 5880),
    ),
)

DELICIOUS = DatasetSource(
    name="delicious",
    n_labels=983,
    train="delicious/delicious-train.arff",
    test="delicious/delicious-test.arff",
    labels_xml="delicious/delicious.xml",
    kind="text",
    note="official Mulan split: train = delicious-train.arff, test = delicious-test.arff.",
    files=(
        SourceFile("delicious/delicious-train.arff", f"{MULAN}/delicious/delicious-train.arff",
                   "030186cdb542ebdd32052fcdbb1ebe30115b3a22518c1b4b198c45eb827aebe1", 3056590),
        SourceFile("delicious/delicious-test.arff", f"{MULAN}/delicious/delicious-test.arff",
                   "2dfb01723a819914b0ca83361177ed413ce3f2169851d9f228d4692915d63944", 757565),
        SourceFile("delicious/delicious.xml", f"{MULAN}/delicious/delicious.xml",
                   "4e0c0f93c7d86a39b9fca4aaefaa00e9428f2c80277732dfbf03ca48e2c14da2", 34303),
    ),
)

# The full MediaMill benchmark (Mulan's mediamill.rar holds these two ARFFs). No checksum is
# known to us for them, so a download is used as it comes and the manifest says "unverified".
MEDIAMILL_FULL = DatasetSource(
    name="mediamill",
    n_labels=101,
    train="mediamill/mediamill-train.arff",
    test="mediamill/mediamill-test.arff",
    labels_xml="mediamill/mediamill.xml",
    kind="dense",
    files=(
        SourceFile("mediamill/mediamill.xml", f"{TUEBINGEN}/mediamill.xml",
                   "960991532485541a885868c269bf454a6ecdcea3f821ad29ae516eaa5a1bd43b", 3225),
        SourceFile("mediamill/mediamill-train.arff", "https://sourceforge.net/projects/mulan/files/datasets/mediamill.rar", None),
        SourceFile("mediamill/mediamill-test.arff", "https://sourceforge.net/projects/mulan/files/datasets/mediamill.rar", None),
    ),
    note="Full MediaMill: extract mediamill-train.arff and mediamill-test.arff from Mulan's mediamill.rar.",
)

# The real 2,500-row sample: used when the full set is absent, and labelled "sample" everywhere.
MEDIAMILL_SAMPLE = DatasetSource(
    name="mediamill",
    n_labels=101,
    train="mediamill/PARTIAL_SUBSET_NOT_FULL_DATASET/mediamill_small.arff",
    test=None,
    labels_xml="mediamill/mediamill.xml",
    kind="dense",
    is_sample=True,
    files=(
        SourceFile("mediamill/mediamill.xml", f"{TUEBINGEN}/mediamill.xml",
                   "960991532485541a885868c269bf454a6ecdcea3f821ad29ae516eaa5a1bd43b", 3225),
        SourceFile("mediamill/PARTIAL_SUBSET_NOT_FULL_DATASET/mediamill_small.arff", f"{TUEBINGEN}/mediamill_small.arff",
                   "bcd666c642efb6b670e8c86992c8acbbbea4fa91277764c04b7a50494f686d34", 3176951),
    ),
    note="2,500-row real MediaMill sample (not the benchmark); split 80/20 with seed 0.",
)

SOURCES: dict[str, tuple[DatasetSource, ...]] = {
    "bibtex": (BIBTEX,),
    "delicious": (DELICIOUS,),
    "mediamill": (MEDIAMILL_FULL, MEDIAMILL_SAMPLE),  # full preferred, sample as fallback
}
