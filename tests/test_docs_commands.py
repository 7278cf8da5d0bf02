"""The README and docs are the user's door: every `taostream ...` (and `tao-converter ...`) command line they
show, in code blocks or inline, names only subcommands, options and option values the CLI's own argparse
parsers have, so the docs cannot drift from the CLI. The parsers are built in-process (no subprocess)."""

from __future__ import annotations

import argparse
import functools
import re
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from taostream.cli import build_parser
from taostream.converter.cli import tao_converter

FENCE = re.compile(r"^\s*```")
PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z0-9_.]*|\.\.\.|<[^>]*>?|\$\w+)(?:\.\.\.)?$")
OPTION = re.compile(r"^--?[A-Za-z][\w-]*")
INDENTED_COMMAND = re.compile(r"^ {4,}(?:\$ )?(?:taostream|tao-converter)\s")


def doc_files() -> list[Path]:
    """README.md, docs/*.md and the README of each top folder (plugins/, parsers/, ...)."""
    tops = [p for p in sorted(REPO_ROOT.glob("*/README.md")) if not p.parent.name.startswith(".")
            and p.parent.name not in {"build", "tests"} and "egg-info" not in p.parent.name]
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")), *tops]


def _segments(line: str) -> list[str]:
    """The commands of one shell line: comments cut, split at && ; || and pipes (a `|` between words
    without spaces is a doc's `a|b` alternative, not a pipe)."""
    line = re.sub(r"(^|\s)#.*$", "", line)
    parts = re.split(r"&&|\|\||;|\s\|\s", line)
    return [" ".join(p.strip().removeprefix("$ ").split()) for p in parts if p.strip()]


def doc_commands(text: str) -> list[tuple[int, str]]:
    """(line number, command) for each command line starting with `taostream` or `tao-converter`: in fenced
    and indented blocks (backslash continuations joined) and in inline code spans (which may wrap a line)."""
    found, lines, prose, in_block, i = [], text.splitlines(), [], False, 0
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            in_block = not in_block
            prose.append("")
        elif in_block or INDENTED_COMMAND.match(line):  # a fenced block, or an indented one's command
            start = i
            while line.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
                prose.append("")
            found += [(start + 1, seg) for seg in _segments(line)]
        else:
            prose.append(line)
            i += 1
            continue
        if len(prose) < i + 1:
            prose.append("")
        i += 1
    body = "\n".join(prose)
    for match in re.finditer(r"(?<!`)`([^`]+)`(?!`)", body):
        number = body.count("\n", 0, match.start()) + 1
        found += [(number, seg) for seg in _segments(match.group(1).replace("\n", " "))]
    return sorted((n, c) for n, c in found if re.match(r"(taostream|tao-converter)(\s|$)", c))


@functools.cache
def _parser(program: str) -> argparse.ArgumentParser:
    return build_parser() if program == "taostream" else tao_converter.build_parser()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _placeholder(token: str) -> bool:
    return bool(PLACEHOLDER.match(token))


def command_problems(command: str) -> list[str]:
    """What in one documented command line the CLI does not have: an unknown subcommand, an option its
    parser lacks, a value outside an option's choices."""
    tokens = [t for t in re.sub(r"[\[\]()]", " ", command).split() if t]
    parsers = [_parser(tokens[0])]
    path, problems, pending = [tokens[0]], [], None
    for token in tokens[1:]:
        if pending is not None:  # the value of an option with choices
            if not _placeholder(token) and not token.startswith("-"):
                choices = [str(c) for c in pending.choices]
                bad = [v for v in re.split(r"[|,{}]", token) if v and v not in choices]
                if bad:
                    problems.append(f"{' '.join(path)} {pending.option_strings[-1]} {token}: not one of {choices}")
            pending = None
            continue
        subs = {}
        for parser in parsers:
            subs.update(_subparsers(parser))
        if OPTION.match(token):
            option = OPTION.match(token).group(0)
            actions = [p._option_string_actions[option] for p in parsers if option in p._option_string_actions]
            if not actions:
                problems.append(f"{' '.join(path)}: no option {option}")
            elif actions[0].choices and "=" not in token:
                pending = actions[0]
            continue
        if subs:  # the next word names a subcommand: a name, `a|b` alternatives or a placeholder (TASK)
            names = token.split("|")
            if _placeholder(token):
                parsers = list(subs.values())
            elif all(n in subs for n in names):
                parsers = [subs[n] for n in names]
            else:
                problems.append(f"{' '.join(path)}: no subcommand {token}")
                break
            path.append(token)
    return problems


def test_the_docs_show_commands():
    """The extraction finds the commands (it cannot pass by finding none): the README's set-up command,
    its table, continuation lines and inline ones."""
    readme = doc_commands((REPO_ROOT / "README.md").read_text())
    commands = [c for _, c in readme]
    assert len(readme) > 60
    assert "taostream sample --network yolo_v4 -o /tmp/taostream-sample --force" in commands
    assert any(c.startswith("taostream bundle model.etlt --network yolov4") and c.endswith("-o bundle/") for c in commands)
    assert "taostream plugins check [--json REPORT]" in commands
    plugins = [c for _, c in doc_commands((REPO_ROOT / "plugins/README.md").read_text())]
    assert any(c.startswith("taostream bundle ... --platform jetson") and "--plugins-library" in c for c in plugins)
    assert sum(len(doc_commands(p.read_text())) for p in doc_files()) > 200


def _assert_no_problems(doc, problems_of) -> None:
    """Each documented command line of DOC judged by PROBLEMS_OF; all problems in one failure, with their lines."""
    problems = [f"{doc.relative_to(REPO_ROOT)}:{number}: {problem}  ({command})"
                for number, command in doc_commands(doc.read_text()) for problem in problems_of(command)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_doc_commands_name_only_what_the_cli_has(doc):
    _assert_no_problems(doc, command_problems)


def test_a_doc_naming_a_missing_option_subcommand_or_choice_is_caught():
    doc = ("Run\n\n```bash\ntaostream bundle model.etlt --network ssd \\\n    --no-such-option 3 -o b/   # note\n```\n\n"
           "and `taostream infer BUNDLE IMAGES -o OUT\n--backend tensorrt` then `taostream frobnicate x`, "
           "`taostream spec get|put F X`, `tao-converter -k $KEY --bogus x.etlt`.\n")
    problems = {c: command_problems(c) for _, c in doc_commands(doc)}
    assert problems == {
        "taostream bundle model.etlt --network ssd --no-such-option 3 -o b/":
            ["taostream bundle: no option --no-such-option"],
        "taostream infer BUNDLE IMAGES -o OUT --backend tensorrt":
            ["taostream infer --backend tensorrt: not one of ['ort', 'onnx', 'trt', 'triton']"],
        "taostream frobnicate x": ["taostream: no subcommand frobnicate"],
        "taostream spec get|put F X": ["taostream spec: no subcommand get|put"],
        "tao-converter -k $KEY --bogus x.etlt": ["tao-converter: no option --bogus"],
    }


def test_every_subcommand_is_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [name for name in _subparsers(_parser("taostream")) if f"taostream {name}" not in readme]
    assert not missing, f"README.md never names: {missing}"


def _leaf_parsers(parser: argparse.ArgumentParser, path: str = "") -> dict[str, argparse.ArgumentParser]:
    subs = _subparsers(parser)
    if not subs:
        return {path: parser}
    leaves = {}
    for name, sub in subs.items():
        leaves.update(_leaf_parsers(sub, f"{path} {name}".strip()))
    return leaves


def test_the_readme_names_every_command_that_needs_force():
    """README: "an existing output is replaced only with --force (decode, ...)": the list is the commands
    that have --force, no more, no fewer."""
    readme = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"replaced only with --force \(([^)]*)\)", readme)
    assert match, "README.md lost its --force sentence"
    named = {n.strip() for n in match.group(1).replace("#", " ").replace("\n", " ").split(",")}
    with_force = {path for path, p in _leaf_parsers(_parser("taostream")).items() if "--force" in p._option_string_actions}
    assert named == with_force


def test_the_readme_names_every_extra():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    paragraph = (REPO_ROOT / "README.md").read_text().split("Extras: ", 1)[1].split("\n\n", 1)[0]
    assert not [name for name in extras if f"`{name}`" not in paragraph]


KEY_OPTIONS = re.compile(r"(?:^|\s)(?:--key|-k|--key-file)(?:\s|=)")


def model_problems(command: str) -> list[str]:
    """What a documented command that opens a model lacks to run as written (argparse cannot say: the
    key may come from $TAOSTREAM_KEY, the labels from --spec or --labels): an .etlt without a key option,
    a bundle of a model without --spec or --labels."""
    tokens = re.sub(r"[\[\]]", " ", command).split()
    if tokens[0] != "taostream" or len(tokens) < 3 or tokens[1] == "migrate" or "..." in tokens:
        # migrate: the config's key; `...`: the doc elides the model and the rest
        return []
    problems = []
    if any(t.endswith(".etlt") for t in tokens[2:]) and not KEY_OPTIONS.search(" ".join(tokens)):
        problems.append(f"taostream {tokens[1]}: an .etlt without --key/--key-file")
    if tokens[1] == "bundle" and not tokens[2].startswith("-") and not {"--spec", "--labels"} & set(tokens):
        problems.append("taostream bundle: a model without --spec or --labels")
    return problems


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_doc_commands_that_open_a_model_give_its_key_and_labels(doc):
    _assert_no_problems(doc, model_problems)


def test_a_doc_bundle_without_key_or_labels_is_caught():
    """The two commands the docs showed before: docs/pipelines.md's NGC bundle without a key, docs/jetson.md's
    SSD bundle without a spec."""
    assert model_problems("taostream bundle vehiclemakenet.etlt --network vehiclemakenet --labels l.txt -o makenet/") == \
        ["taostream bundle: an .etlt without --key/--key-file"]
    assert model_problems("taostream bundle model.etlt --network ssd --key-file key.txt --platform jetson -o bundle/") == \
        ["taostream bundle: a model without --spec or --labels"]
    assert model_problems("taostream bundle --platform jetson") == []
    assert model_problems("taostream migrate pgie_ssd_tlt_config.txt -o out/") == []


def test_a_bundles_and_a_pipelines_own_readmes_name_only_what_the_cli_has(tmp_path):
    """The READMEs taostream writes (a bundle's README.md, a --triton pipeline's engine READMEs) are the
    next door: their taostream commands pass the same checks."""
    from taostream.cli import main

    assert main(["sample", "--network", "ssd", "-o", str(tmp_path / "s")]) == 0
    bundle = tmp_path / "bundle"
    assert main(["bundle", str(tmp_path / "s/model.etlt"), "--network", "ssd", "--spec", str(tmp_path / "s/spec.txt"),
                 "--key", "nvidia_tlt", "--triton-gpu", "plan", "-o", str(bundle)]) == 0
    assert main(["pipeline", "-o", str(tmp_path / "app"), "--primary", str(bundle), "--triton"]) == 0
    readmes = [bundle / "README.md", *tmp_path.glob("app/triton/*/1/README.txt")]
    commands = []
    for readme in readmes:
        text = readme.read_text()
        commands += [c for _, c in doc_commands(text if readme.suffix == ".md" else f"```\n{text.strip()}\n```")]
    assert any(c.startswith("taostream infer .") for c in commands) and any("convert" in c for c in commands)
    problems = [f"{c}: {p}" for c in commands for p in command_problems(c) + model_problems(c)]
    assert not problems, "\n".join(problems)
