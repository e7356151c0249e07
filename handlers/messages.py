"""Every piece of Chinese text that parkbot sends to a chat, in one place."""

from __future__ import annotations


def source_failing(name: str, count: int, error: str) -> str:
    """Staff alert: a source has failed many polls in a row."""
    return (
        f"【parkbot】来源「{name}」已连续 {count} 次抓取失败：{error}。请确认网址能否访问，或暂时停用该来源。"
    )


def source_matches_nothing(name: str, selector: str, count: int) -> str:
    """Staff alert: an HTML source's item selector found nothing several times (the site changed)."""
    return (
        f"【parkbot】来源「{name}」的列表选择器 {selector} 已连续 {count} 次没有匹配到任何条目，"
        "网站可能改版了，请更新 config.toml 中该来源的 [sources.select]。"
    )


def source_redesigned(name: str, new: int, total: int) -> str:
    """Staff alert: one poll found most items new, which usually means every link changed."""
    return (
        f"【parkbot】来源「{name}」本次抓取发现 {new}/{total} 条新条目，疑似网站改版导致链接全部变化。"
        "这些条目已保存，但不会即时推送；请核对后再决定是否转发。"
    )


def subscriber_failing(name: str, error: str) -> str:
    """Staff alert: a robot refused a message for good (bad key, robot removed, bad signature)."""
    return (
        f"【parkbot】订阅「{name}」的机器人拒绝了消息：{error}。消息已保留，未再发送；"
        "修正 config.toml 中的地址或密钥后，运行 parkbot outbox --retry-dead 重新发送。"
    )


def unknown_command() -> str:
    """Reply to text that names no command."""
    return "没有听懂这条指令。发送「帮助」查看可用的指令。"


def command_failed() -> str:
    """Reply when a command failed for a reason the person asking cannot fix."""
    return "抱歉，处理这条指令时出了问题，已记录在日志中，请稍后再试。"
