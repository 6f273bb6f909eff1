"""The fake AI component builder: deterministic TSX text from a description and preferences."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_FILLER = frozenset({"a", "an", "the", "component", "with", "and", "for", "of", "that", "to"})


def component_name(description: str) -> str:
    """PascalCase name from the description's meaningful words: 'A button component' -> 'Button'."""
    words = [w for w in re.findall(r"[A-Za-z0-9]+", description) if w.lower() not in _FILLER]
    name = "".join(word[:1].upper() + word[1:].lower() for word in words[:4])
    if not name:
        return "GeneratedComponent"
    return name if name[0].isalpha() else f"C{name}"


def render_component(description: str, preferences: Mapping[str, Any]) -> tuple[str, str]:
    """(component name, TSX source) shaped by `type` (client/server) and `styling` preferences."""
    name = component_name(description)
    client = str(preferences.get("type", "client")).lower() == "client"
    styling = str(preferences.get("styling", "tailwind")).lower()
    summary = " ".join(description.split()).replace("*/", "* /")[:200]
    if styling == "tailwind":
        class_attr = 'className="inline-flex items-center rounded-md px-4 py-2 text-sm font-medium"'
        style_import = ""
    else:
        class_attr = "className={styles.root}"
        style_import = f"import styles from './{name}.module.css';\n"
    lines = [
        "'use client';\n" if client else "",
        "import * as React from 'react';\n",
        style_import,
        f"\n/** {summary} */\n",
        f"export interface {name}Props {{\n",
        "  children?: React.ReactNode;\n",
        "  onClick?: () => void;\n" if client else "",
        "}\n\n",
        f"export function {name}({{ children{', onClick' if client else ''} }}: {name}Props) {{\n",
        "  return (\n",
        f"    <div {class_attr}{' onClick={onClick}' if client else ''}>\n",
        "      {children}\n",
        "    </div>\n",
        "  );\n",
        "}\n\n",
        f"export default {name};\n",
    ]
    return name, "".join(lines)
