# Copyright 2026 The relvid Authors. Licensed under the Apache License 2.0.
"""The configuration as commented YAML, documented from its own source.

Each field's documentation is the `#` comment block right above it in
relvid/config.py (and a trailing comment on its line), so the reference
(`relvid config`, docs/configuration.md) says what the code says and
cannot drift from it. The YAML loads back with `config.load_config` to
the same configuration.

  .venv/bin/python -m relvid.config_doc > docs/configuration.md

regenerates the page (from the source root).
"""
import ast
import dataclasses
import functools
import inspect
import io
import sys
import textwrap
import tokenize
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from relvid import config as config_lib

# The command that rewrites docs/configuration.md (quoted by its test).
REGENERATE = ".venv/bin/python -m relvid.config_doc > docs/configuration.md"

# Defaults that are paths on this machine (the installed package's
# schemas): the reference page names them instead of printing a path that
# differs per installation.
_MACHINE_DEPENDENT = {
    config_lib.PACKAGED_SCHEMA_DIR: "<the installed relvid package>/schemas",
}

_INDENT = "  "


@dataclasses.dataclass(frozen=True)
class FieldDoc:
  """What the source says about one field."""
  # The comment lines right above the field, without their `# `.
  above: Tuple[str, ...] = ()
  # The comment after the field's code, on the same line, without `# `.
  inline: str = ""


def _comment_text(comment: str) -> str:
  """`# text` -> `text`, keeping any further indentation of the text."""
  text = comment[1:]
  return text[1:] if text.startswith(" ") else text


@functools.lru_cache(maxsize=None)
def field_docs(cls: type) -> Dict[str, FieldDoc]:
  """Field name -> its source comments, for the dataclass `cls`.

  Args:
    cls: a config dataclass, e.g. config.TrainerConfig.

  Returns:
    One FieldDoc per field that has comments; fields without any are left
    out, and so is everything when the source cannot be read (a build
    without .py files).
  """
  try:
    source = textwrap.dedent(inspect.getsource(cls))
  except (OSError, TypeError):
    return {}
  # Line number -> (comment, whether it is the only thing on its line).
  # tokenize, unlike a search for "#", skips a `#` inside a string.
  comments: Dict[int, Tuple[str, bool]] = {}
  for token in tokenize.generate_tokens(io.StringIO(source).readline):
    if token.type == tokenize.COMMENT:
      row, column = token.start
      comments[row] = (_comment_text(token.string),
                       not token.line[:column].strip())
  names = {f.name for f in dataclasses.fields(cls)}
  (class_node,) = ast.parse(source).body
  docs = {}
  for node in class_node.body:
    if not (isinstance(node, ast.AnnAssign) and
            isinstance(node.target, ast.Name) and node.target.id in names):
      continue
    above: List[str] = []
    row = node.lineno - 1
    # A blank line or code ends the block: a comment further up belongs to
    # the fields it precedes, not to this one.
    while row in comments and comments[row][1]:
      above.insert(0, comments[row][0])
      row -= 1
    inline = "; ".join(
        text for r, (text, own_line) in sorted(comments.items())
        if node.lineno <= r <= node.end_lineno and not own_line)
    if above or inline:
      docs[node.target.id] = FieldDoc(tuple(above), inline)
  return docs


def section_doc(cls: type) -> List[str]:
  """The first paragraph of `cls`'s docstring, as lines."""
  # dataclass() writes a signature into __doc__ when the class has none.
  doc = cls.__dict__.get("__doc__") or ""
  if doc.startswith(cls.__name__ + "("):
    return []
  return inspect.cleandoc(doc).split("\n\n")[0].splitlines()


def yaml_value(value: Any) -> str:
  """`value` as YAML on one line: scalars plain or quoted, lists and dicts
  in flow style."""
  if isinstance(value, (list, tuple, dict)):
    # Inside a flow list a collection stays in flow style; then unwrapped.
    text = yaml.safe_dump([value], default_flow_style=True, sort_keys=False,
                          allow_unicode=True, width=float("inf"))
    return text.strip()[1:-1]
  # A mapping's value, not a document: no document-end marker ("..."), and
  # quotes only where a block mapping needs them. A line break would fold
  # a quoted scalar over lines, so such a string is written escaped.
  style = '"' if isinstance(value, str) and "\n" in value else None
  text = yaml.safe_dump({"_": value}, default_style=style, allow_unicode=True,
                        width=float("inf"))
  return text.rstrip("\n").split(": ", 1)[1]


def _comment_lines(lines: Sequence[str], indent: str) -> List[str]:
  return [f"{indent}# {line}".rstrip() for line in lines]


def _field_lines(obj: Any, default: Any, indent: str,
                 portable: bool) -> List[str]:
  """The commented `field: value` lines of one dataclass instance."""
  docs = field_docs(type(obj))
  out = []
  for field in dataclasses.fields(obj):
    value = getattr(obj, field.name)
    if dataclasses.is_dataclass(value):
      continue
    doc = docs.get(field.name, FieldDoc())
    out += _comment_lines(doc.above, indent)
    notes = []
    default_value = getattr(default, field.name)
    if value != default_value:
      notes.append(f"default: {_shown(default_value, portable)}")
    if doc.inline:
      notes.append(doc.inline)
    note = f"  # {'; '.join(notes)}" if notes else ""
    if portable and _is_machine_dependent(value):
      # Commented out: left unset, the field keeps its default wherever
      # relvid is installed.
      out.append(f"{indent}# {field.name}: {_MACHINE_DEPENDENT[value]}"
                 f"{note or ' (the default)'}")
    else:
      out.append(f"{indent}{field.name}: {yaml_value(value)}{note}")
  return out


def _is_machine_dependent(value: Any) -> bool:
  return isinstance(value, str) and value in _MACHINE_DEPENDENT


def _shown(value: Any, portable: bool) -> str:
  if portable and _is_machine_dependent(value):
    return _MACHINE_DEPENDENT[value]
  return yaml_value(value)


def render(config: config_lib.PipelineConfig, portable: bool = False) -> str:
  """`config` as commented YAML that `load_config` reads back to it.

  The top-level fields come first, then one block per section, headed by
  its class docstring's first paragraph; every field is preceded by its
  source comments, and a value other than the default says the default.

  Args:
    config: the configuration to write.
    portable: write defaults that are paths on this machine (the packaged
      schemas) as a commented-out line naming them, so that the text is the
      same on every installation (the reference page). Loaded, such a line
      leaves the field at its default.

  Returns:
    The YAML text, ending with a newline.
  """
  default = config_lib.PipelineConfig()
  lines = _comment_lines(section_doc(type(config)), "")
  lines += _field_lines(config, default, "", portable)
  for field in dataclasses.fields(config):
    section = getattr(config, field.name)
    if not dataclasses.is_dataclass(section):
      continue
    lines.append("")
    lines += _comment_lines(section_doc(type(section)), "")
    lines.append(f"{field.name}:")
    lines += _field_lines(section, getattr(default, field.name), _INDENT,
                          portable)
  return "\n".join(lines) + "\n"


def reference_page() -> str:
  """The whole text of docs/configuration.md: the defaults, commented."""
  intro = f"""\
# Configuration reference

<!-- Generated from relvid/config.py: edit the comments there, then run
{REGENERATE}
(tests/test_config_reference.py fails while this page lags behind). -->

Every command that takes `--config`/`--set` (`relvid run`, `refresh`,
`backfill`, `compile`, `airflow`, `ablate`, `serve`, `versions`, `rollback`,
`config`) reads one typed configuration, `relvid/config.py`: the defaults
below, then a YAML file (`--config FILE`), then `--set section.field=value`
overrides, in that order, validated before anything runs (an invalid value
is a one-line error naming the field). A YAML file names only the fields it
changes, under their sections as below.

`relvid config` prints the configuration that commands given the same
options use, commented like this page, with `# default: ...` after each
value that differs from the default:

```sh
relvid config --config prod.yaml --set trainer.batch_size=4096
```

The block below is `relvid config --defaults`: every field with the
comments above it in `relvid/config.py`, so the page cannot go stale; a
test compares it with the code. It is a valid config file itself, and
loads to the defaults.

"""
  return (intro + "```yaml\n" + render(config_lib.PipelineConfig(), True) +
          "```\n")


if __name__ == "__main__":
  sys.stdout.write(reference_page())
