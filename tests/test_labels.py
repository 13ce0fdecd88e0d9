"""The one label vocabulary: antispoof.labels, and no second copy of it anywhere in the package."""

import ast
import subprocess
import sys
from pathlib import Path

import torch

from antispoof import labels
from antispoof.labels import BONAFIDE, CLASS_OF, NAMES, NUM_CLASSES, SPOOF, one_hot

PACKAGE = Path(labels.__file__).resolve().parent
# The synthetic corpus generator counts trials (`BONAFIDE = 50` trials at scale 1): not labels.
EXEMPT = (PACKAGE / "labels.py", PACKAGE / "synth")
LABEL_CONSTANTS = {"BONAFIDE", "SPOOF", "BONAFIDE_NAME", "SPOOF_NAME"}


def test_the_vocabulary():
    assert (BONAFIDE, SPOOF, NUM_CLASSES) == (0, 1, 2)
    assert NAMES[BONAFIDE] == "bonafide" and NAMES[SPOOF] == "spoof"
    assert {name: CLASS_OF[name] for name in NAMES} == {"bonafide": 0, "spoof": 1}
    assert one_hot(torch.tensor([SPOOF, BONAFIDE, SPOOF])).tolist() == [
        [0.0, 1.0],
        [1.0, 0.0],
        [0.0, 1.0],
    ]
    assert one_hot(torch.tensor([BONAFIDE])).dtype == torch.float32


def test_reading_the_label_words_does_not_import_torch():
    """Data preparation and evaluation use the vocabulary; they must not pay for torch."""
    code = "import sys, antispoof.labels; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def spells_labels(value: ast.expr) -> bool:
    """A label word (`"spoof"`), or a collection of nothing but label words: a tuple, list or set,
    or a dict's values (`("bonafide", "spoof")`). A corpus's own vocabulary that merely includes
    a label word (the ASV keys `target`, `nontarget`, `spoof`) is not a copy of this one."""
    if isinstance(value, ast.Constant):
        return value.value in NAMES
    if isinstance(value, ast.Tuple | ast.List | ast.Set):
        items = value.elts
    elif isinstance(value, ast.Dict):
        items = value.values
    else:
        return False
    return bool(items) and all(spells_labels(item) for item in items)


def label_definitions(path: Path) -> list[str]:
    """`line: name` of each assignment in `path` that defines label constants of its own: one of
    the names labels.py owns, or any name bound to label words (`spells_labels`)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        spelt = spells_labels(value)
        for target in targets:
            if isinstance(target, ast.Name) and (target.id in LABEL_CONSTANTS or spelt):
                found.append(f"{node.lineno}: {target.id}")
    return found


def test_no_module_defines_its_own_label_constants():
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{definition}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if not any(path == exempt or exempt in path.parents for exempt in EXEMPT)
        for definition in label_definitions(path)
    ]
    assert offenders == [], "import these from antispoof.labels instead: " + ", ".join(offenders)


def test_the_check_finds_a_label_constant(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        "BONAFIDE = 0\n"
        'LABEL: str = "spoof"\n'
        'WORDS = ("bonafide", "spoof")\n'
        'TO_LABEL = {"bona-fide": "bonafide", "spoof": "spoof"}\n'
        'ASV_KEYS = ("target", "nontarget", "spoof")\n'
        'OTHER = "spoofed"\n'
        "COUNT = 3\n"
    )
    assert label_definitions(module) == ["1: BONAFIDE", "2: LABEL", "3: WORDS", "4: TO_LABEL"]
