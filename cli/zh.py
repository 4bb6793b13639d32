"""Click's own words in Chinese: usage lines, help headings and the usage errors a person
gets for a mistyped command line ("Missing argument", "No such option", "Invalid value…").

Click marks each of its messages for translation with :mod:`gettext` (``_`` and
``ngettext``, bound in each of its modules at import).  :func:`install` binds those names
to this catalogue instead: a message Click says is looked up by its English text and
formatted by Click as usual; one not listed stays English (a newer Click's new words), so
nothing breaks when Click changes.
"""

from __future__ import annotations

import importlib

import click

#: Click's message → the Chinese one, with the same ``{placeholders}``.
CATALOGUE: dict[str, str] = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "位置参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行“{command} {option}”查看帮助。",
    "Aborted!": "已中止",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令。",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "argument": "参数",
    "option": "选项",
    "parameter": "参数",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "integer": "整数",
    "float": "数字",
    "{value!r} is not a valid boolean.": "{value!r} 不是有效的布尔值。",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "deprecated": "已弃用",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不经询问直接确认。",
    "unknown error": "未知错误",
    "Value must be an iterable.": "值应为可迭代的序列。",
}

#: (singular, plural) → (Chinese singular, Chinese plural), with each form's placeholders.
PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "多余的参数（{args}）",
        "多余的参数（{args}）",
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "是不是 {possibility}？",
        "（是不是其中之一：{possibilities}？）",
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "选项 {name!r} 需要一个值。",
        "选项 {name!r} 需要 {nargs} 个值。",
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "{value!r} 不是 {choice}。",
        "{value!r} 不是可选值之一：{choices}。",
    ),
    (
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ): ("{value!r} 不符合格式 {format}。", "{value!r} 不符合任一格式：{formats}。"),
    ("Takes {nargs} values but 1 was given.", "Takes {nargs} values but {len} were given."): (
        "需要 {nargs} 个值，只给出了 1 个。",
        "需要 {nargs} 个值，给出了 {len} 个。",
    ),
}

#: Click's modules that bind ``_`` / ``ngettext`` at import.
_MODULES = (
    "click.core",
    "click.exceptions",
    "click.parser",
    "click.types",
    "click.formatting",
    "click.decorators",
    "click.termui",
    "click.utils",
)


def gettext(message: str) -> str:
    return CATALOGUE.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    one, many = PLURALS.get((singular, plural), (singular, plural))
    return one if n == 1 else many


def _missing_message(self: click.exceptions.MissingParameter) -> str:
    """Click writes the full stop after a missing parameter's name itself, outside its
    catalogue (``"{missing}{param_hint}.{msg}"``): the Chinese sentence ends in 。"""
    return _CLICK_MISSING(self).replace("'.", "'。", 1)


_CLICK_MISSING = click.exceptions.MissingParameter.format_message


def install() -> None:
    """Bind Click's message lookups to the catalogue (idempotent)."""
    click.exceptions.MissingParameter.format_message = _missing_message  # type: ignore[method-assign]
    for name in _MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
