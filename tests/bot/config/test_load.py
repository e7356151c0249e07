from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.config.load import ConfigError, find_config_path, load_config
from bot.config.types import SelectConfig
from bot.config.values import parse_duration, parse_rate_limit, parse_size, parse_time
from bot.platforms.base import RateLimit

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
FEISHU_TOKEN = "2d9f6c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
ENVIRON = {
    "WECOM_URL": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
    "DING_SECRET": "SECd1e2f3a4b5c6d7e8f9",
    "ADMIN": "admin-token-0123456789",
    "AES": "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
}
FULL = f"""
[bot]
name = "湖南开发区协会·园区快讯"
timezone = "Asia/Shanghai"
database = "data/parkbot.db"
staff_alerts = "staff"

[server]
host = "0.0.0.0"
port = 9090
admin_token = "${{ADMIN}}"

[polling]
interval = "1h30m"
timeout = "20s"
max_body = "512KB"
per_host = 3
user_agent = "parkbot-test"
first_fetch = "push"

[[sources]]
id = "hnkfq-news"
name = "湖南开发区网·园区快讯"
url = "http://hnkfq.com.cn/news/"
type = "html"
interval = "2h"
encoding = "gb18030"

[sources.select]
item = "ul.news-list > li"
title = "a"
link = "a@href"
date = "span.date"

[[sources]]
id = "mofcom"
url = "https://example.org/feed.xml"
type = "feed"
enabled = false

[[subscribers]]
id = "members"
name = "会员单位群"
platform = "wecom"
webhook = "${{WECOM_URL}}"
digest = "8:05"
sources = ["*"]
include = ["园区", "${{EXTRA_WORD:-招商}}"]
rate_limit = "20/min"

[[subscribers]]
id = "staff"
platform = "dingtalk"
webhook = "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123"
secret = "${{DING_SECRET}}"
digest = "off"
instant = true
sources = ["mofcom"]
exclude = ["广告"]
chat_id = "cid-1"

[[subscribers]]
id = "feishu-group"
platform = "feishu"
webhook = "https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}"

[[subscribers]]
id = "screen"
platform = "console"
webhook = "out/digest.txt"

[chat.dingtalk]
app_secret = "${{DING_SECRET}}"

[chat.wecom]
token = "wecom-callback-token"
encoding_aes_key = "${{AES}}"
corp_id = "ww1234"

[chat.feishu]
app_id = "cli_abc"
app_secret = "feishu-app-secret-value"
verification_token = "feishu-verification-token"
api_base = "https://open.larksuite.com/"

[chat.webhook]
secret = "${{HOOK_SECRET:-}}"

[[answers]]
keywords = ["联系方式", "地址"]
text = "长沙市五一大道492号"

[staff]
dingtalk = ["manager01"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ or {})
    prefix = "config.toml: "
    assert all(line.startswith(prefix) for line in caught.value.lines), caught.value.lines
    return [line.removeprefix(prefix) for line in caught.value.lines]


def test_full_config_round_trip(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), ENVIRON)
    assert config.bot.name == "湖南开发区协会·园区快讯"
    assert config.bot.timezone.key == "Asia/Shanghai"
    assert config.bot.database == (tmp_path / "data" / "parkbot.db").resolve()
    assert config.bot.staff_alerts == "staff"
    assert (config.server.host, config.server.port, config.server.admin_token.reveal()) == (
        "0.0.0.0",
        9090,
        ENVIRON["ADMIN"],
    )
    polling = config.polling
    assert (polling.interval, polling.timeout) == (timedelta(minutes=90), timedelta(seconds=20))
    assert polling.max_body == 512 * 1024
    assert (polling.per_host, polling.user_agent, polling.first_fetch) == (3, "parkbot-test", "push")
    news, mofcom = config.sources
    assert news.select == SelectConfig("ul.news-list > li", "a", "a@href", "span.date", "")
    assert (news.interval, news.encoding, news.enabled) == (timedelta(hours=2), "gb18030", True)
    assert (mofcom.name, mofcom.interval, mofcom.select) == ("mofcom", polling.interval, None)
    assert mofcom.enabled is False
    members, staff, feishu, screen = config.subscribers
    assert members.webhook.reveal() == ENVIRON["WECOM_URL"]
    assert (members.digest, members.include, members.rate_limit) == (
        time(8, 5),
        ("园区", "招商"),
        RateLimit(20, timedelta(minutes=1)),
    )
    assert (staff.digest, staff.instant, staff.sources, staff.exclude, staff.chat_id) == (
        None,
        True,
        ("mofcom",),
        ("广告",),
        "cid-1",
    )
    assert staff.secret.reveal() == ENVIRON["DING_SECRET"] and staff.rate_limit is None
    assert feishu.name == "feishu-group" and feishu.wants("anything") and not staff.wants("hnkfq-news")
    assert screen.webhook.reveal() == str((tmp_path / "out" / "digest.txt").resolve())
    chat = config.chat
    assert chat.dingtalk is not None and chat.dingtalk.app_secret.reveal() == ENVIRON["DING_SECRET"]
    assert chat.wecom is not None and chat.wecom.corp_id == "ww1234"
    assert chat.feishu is not None and chat.feishu.api_base == "https://open.larksuite.com"
    assert chat.webhook is not None and not chat.webhook.secret
    assert config.answers[0].keywords == ("联系方式", "地址")
    assert config.staff.dingtalk == ("manager01",) and config.staff.wecom == ()
    assert config.source("mofcom") is mofcom and config.subscriber("staff") is staff


def test_defaults_when_sections_are_omitted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), {})
    bot, server, polling = config.bot, config.server, config.polling
    assert (bot.name, bot.timezone.key, bot.staff_alerts) == ("parkbot", "Asia/Shanghai", None)
    assert bot.database == (tmp_path / "data" / "parkbot.db").resolve()
    assert (server.host, server.port, server.admin_token.reveal()) == ("127.0.0.1", 8080, "")
    assert (polling.interval, polling.timeout) == (timedelta(minutes=30), timedelta(seconds=20))
    assert (polling.max_body, polling.per_host, polling.first_fetch) == (5 << 20, 2, "seed")
    assert config.sources == config.subscribers == config.answers == ()
    assert config.chat.dingtalk is config.chat.wecom is config.chat.feishu is config.chat.webhook is None
    assert config.secrets() == ()


def test_subscriber_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[[subscribers]]\nid = "out"\nplatform = "console"\n'), {})
    (sub,) = config.subscribers
    assert (sub.name, sub.webhook.reveal(), sub.digest, sub.instant, sub.sources) == (
        "out",
        "-",
        time(8, 30),
        False,
        ("*",),
    )
    with pytest.raises(KeyError):
        config.subscriber("nobody")
    with pytest.raises(KeyError):
        config.source("out")


SOURCE = '[[sources]]\nid = "a"\nurl = "https://x.org/f"\ntype = "feed"\n'
HTML = SOURCE.replace("feed", "html")
DURATIONS = '(use e.g. "90s", "15m", "2h", "1d")'
WECOM = f'[[subscribers]]\nid = "m"\nplatform = "wecom"\nwebhook = "https://q.org/send?key={WECOM_KEY}"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[polling]\nintervall = "1h"', 'polling.intervall: unknown key (did you mean "interval"?)'),
        ("[sever]", 'sever: unknown key (did you mean "server"?)'),
        ('[chat.dingtlk]\napp_secret = ""', 'chat.dingtlk: unknown key (did you mean "dingtalk"?)'),
        (SOURCE + "colour = 1", "sources[0].colour: unknown key"),
        (
            HTML + '[sources.select]\nitem = "li"\ntitle = "a"\nlink = "a@href"\nsumary = ""',
            'sources[0].select.sumary: unknown key (did you mean "summary"?)',
        ),
        (SOURCE.replace("https://x.org/f", "htp://x"), 'sources[0].url: "htp://x" is not an http(s) URL'),
        (
            SOURCE.replace("https://x.org/f", "https:///p"),
            'sources[0].url: "https:///p" is not an http(s) URL',
        ),
        ('[polling]\ninterval = "30x"', f'polling.interval: "30x" is not a duration {DURATIONS}'),
        ('[polling]\ntimeout = "0s"', 'polling.timeout: "0s" must be longer than zero'),
        (SOURCE + 'interval = "soon"', f'sources[0].interval: "soon" is not a duration {DURATIONS}'),
        ('[polling]\nmax_body = "5 pc"', 'polling.max_body: "5 pc" is not a size (use e.g. "512KB", "5MB")'),
        (
            WECOM + 'digest = "25:00"',
            'subscribers[0].digest: "25:00" is not a time of day (use "HH:MM", e.g. "08:30", or "off")',
        ),
        (
            '[bot]\ntimezone = "Asia/Beijing"',
            'bot.timezone: "Asia/Beijing" is not a known IANA time zone (e.g. "Asia/Shanghai")',
        ),
        (
            '[bot]\ntimezone = "Asia"',
            'bot.timezone: "Asia" is not a known IANA time zone (e.g. "Asia/Shanghai")',
        ),
        (
            '[[subscribers]]\nid = "m"\nplatform = "wecom"\nwebhook = "${WECOM_KEY}"',
            "subscribers[0].webhook: environment variable WECOM_KEY is not set",
        ),
        ('[staff]\nwecom = ["${BOSS}"]', "staff.wecom[0]: environment variable BOSS is not set"),
        (
            '[bot]\nname = "${UNCLOSED"',
            "bot.name: has a malformed ${...} reference (use ${NAME} or ${NAME:-default})",
        ),
        (SOURCE + SOURCE, 'sources[1].id: duplicate id "a" (first used at sources[0])'),
        (WECOM + WECOM, 'subscribers[1].id: duplicate id "m" (first used at subscribers[0])'),
        (
            HTML,
            'sources[0].select: is required for type = "html": add [sources.select] with item, title, link',
        ),
        (HTML + '[sources.select]\nitem = "li"\ntitle = "a"', "sources[0].select.link: is required"),
        (SOURCE + '[sources.select]\nitem = "li"', 'sources[0].select: is only for type = "html"'),
        (
            HTML + '[sources.select]\nitem = "li[[["\ntitle = "a"\nlink = "a@href"',
            'sources[0].select.item: "li[[[" is not a valid CSS selector',
        ),
        (
            HTML + '[sources.select]\nitem = "li"\ntitle = "a"\nlink = "a@href"\ndate = "span..date"',
            'sources[0].select.date: "span..date" is not a valid CSS selector',
        ),
        (
            HTML + '[sources.select]\nitem = "li"\ntitle = "a"\nlink = "a[[@href"',
            'sources[0].select.link: "a[[@href" is not a valid CSS selector',
        ),
        (
            HTML + '[sources.select]\nitem = "li@href"\ntitle = "a"\nlink = "a@href"',
            'sources[0].select.item: "li@href" is not a valid CSS selector',
        ),
        (SOURCE + WECOM + 'sources = ["b"]', 'subscribers[0].sources[0]: unknown source "b"'),
        (
            SOURCE + WECOM + 'sources = ["*", "aa"]',
            'subscribers[0].sources[1]: unknown source "aa" (did you mean "a"?)',
        ),
        ('[server]\nport = "80"', "server.port: expected an integer, got string"),
        ("[server]\nport = true", "server.port: expected an integer, got boolean"),
        ("[server]\nport = 70000", "server.port: 70000 is out of range: must be between 1 and 65535"),
        ("[polling]\nper_host = 0", "polling.per_host: 0 is out of range: must be at least 1"),
        ("[polling]\ninterval = 30", "polling.interval: expected a string, got integer"),
        (SOURCE + 'enabled = "yes"', "sources[0].enabled: expected a boolean, got string"),
        (WECOM + "digest = 08:30:00", "subscribers[0].digest: expected a string, got time"),
        (WECOM + 'include = "园区"', "subscribers[0].include: expected an array, got string"),
        ('[staff]\nfeishu = ["ou_1", 2]', "staff.feishu[1]: expected a string, got integer"),
        ('[sources]\nid = "a"', "sources: expected an array of tables ([[sources]]), got table"),
        ('bot = "x"', "bot: expected a table, got string"),
        (SOURCE.replace('"a"', '"A_1"'), 'sources[0].id: "A_1" is not a valid id (use only a-z, 0-9 and -)'),
        (SOURCE.replace('id = "a"\n', ""), "sources[0].id: is required"),
        (SOURCE.replace("feed", "rss"), 'sources[0].type: "rss" must be one of "feed", "html"'),
        (
            SOURCE + 'encoding = "gbk-ish"',
            'sources[0].encoding: "gbk-ish" is not a known text encoding (e.g. "gb18030", "utf-8")',
        ),
        (
            '[polling]\nfirst_fetch = "seeds"',
            'polling.first_fetch: "seeds" must be one of "seed", "push" (did you mean "seed"?)',
        ),
        (
            WECOM.replace("wecom", "wecon"),
            'subscribers[0].platform: "wecon" must be one of "wecom", "dingtalk", '
            '"feishu", "webhook", "console" (did you mean "wecom"?)',
        ),
        (
            WECOM.replace('webhook = "https://q.org/send?key=', 'hook = "'),
            'subscribers[0].hook: unknown key (did you mean "webhook"?)',
        ),
        (
            WECOM + 'rate_limit = "fast"',
            'subscribers[0].rate_limit: "fast" is not a rate limit (use e.g. "20/min", "5/s", "1000/h")',
        ),
        (WECOM + '[bot]\nstaff_alerts = "ops"', 'bot.staff_alerts: unknown subscriber "ops"'),
        ('[chat.feishu]\napi_base = "feishu.cn"', 'chat.feishu.api_base: "feishu.cn" is not an http(s) URL'),
        (
            '[chat.wecom]\nencoding_aes_key = "short"',
            'chat.wecom.encoding_aes_key: "****" must be 43 characters long, not 5',
        ),
        ('[[answers]]\nkeywords = ["地址"]', "answers[0].text: is required"),
        ('[[answers]]\nkeywords = []\ntext = "x"', "answers[0].keywords: must list at least one keyword"),
    ],
)
def test_each_problem_is_one_line_naming_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert problems(tmp_path, text) == [expected]


@pytest.mark.parametrize(
    ("title", "link", "summary"),
    [("a", "a@href", ""), ("@title", "@href", "p.intro"), ("td:nth-child(2) > a", "a[href]@href", "p")],
)
def test_valid_selectors_pass(tmp_path: Path, title: str, link: str, summary: str) -> None:
    select = f'[sources.select]\nitem = "ul > li"\ntitle = "{title}"\nlink = "{link}"\nsummary = "{summary}"'
    assert load_config(write(tmp_path, HTML + select), {}).sources[0].select is not None


def test_secret_values_are_masked_in_problem_lines(tmp_path: Path) -> None:
    bad = f"htp://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"
    text = f'[[subscribers]]\nid = "m"\nplatform = "wecom"\nwebhook = "{bad}"\n'
    assert problems(tmp_path, text) == [
        'subscribers[0].webhook: "htp://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=69…aa"'
        " is not an http(s) URL"
    ]


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    text = '[bot]\ntimezone = "Mars/Olympus"\n[server]\nport = 0\n' + SOURCE.replace(
        "https://x.org/f", "ftp://x"
    )
    assert problems(tmp_path, text) == [
        'bot.timezone: "Mars/Olympus" is not a known IANA time zone (e.g. "Asia/Shanghai")',
        "server.port: 0 is out of range: must be between 1 and 65535",
        'sources[0].url: "ftp://x" is not an http(s) URL',
    ]


@pytest.mark.parametrize(
    ("value", "environ", "expected"),
    [
        ("${X:-fallback}", {}, "fallback"),
        ("${X:-}", {}, ""),
        ("${X:-fallback}", {"X": "set"}, "set"),
        ("${X:-fallback}", {"X": ""}, "fallback"),
        ("${X}", {"X": ""}, ""),
        ("a-${X}-${Y:-b}", {"X": "x"}, "a-x-b"),
        ("price $5 and $$HOME", {}, "price $5 and $$HOME"),
        ("$${X}", {"X": "x"}, "$${X}"),
    ],
)
def test_environment_interpolation(
    tmp_path: Path, value: str, environ: dict[str, str], expected: str
) -> None:
    config = load_config(write(tmp_path, f'[bot]\nname = "{value}"\n'), environ)
    assert config.bot.name == expected


def test_environ_defaults_to_the_process_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKBOT_TEST_NAME", "from-env")
    assert load_config(write(tmp_path, '[bot]\nname = "${PARKBOT_TEST_NAME}"\n')).bot.name == "from-env"


def test_repr_hides_every_secret(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), ENVIRON)
    shown = repr(config)
    for secret in config.secrets():
        assert secret not in shown
    assert "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=69…aa" in shown


def test_secrets_lists_values_and_url_tokens(tmp_path: Path) -> None:
    secrets = load_config(write(tmp_path, FULL), ENVIRON).secrets()
    assert set(secrets) == {
        ENVIRON["ADMIN"],
        ENVIRON["WECOM_URL"],
        WECOM_KEY,
        ENVIRON["DING_SECRET"],
        "https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef0123",
        "0123456789abcdef0123",
        f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_TOKEN}",
        FEISHU_TOKEN,
        "wecom-callback-token",
        ENVIRON["AES"],
        "feishu-app-secret-value",
        "feishu-verification-token",
    }
    assert len(secrets) == len(set(secrets))


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.lines == (f"{path}: cannot read the file: No such file or directory",)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[bot]\nname = "x"\ntimezone = \n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    (line,) = caught.value.lines
    assert line.startswith("config.toml: line 3, column 12: invalid TOML: ")


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        ("a.toml", {"PARKBOT_CONFIG": "b.toml"}, Path("a.toml")),
        (None, {"PARKBOT_CONFIG": "b.toml"}, Path("b.toml")),
        (None, {}, Path("config.toml")),
    ],
)
def test_find_config_path(cli: str | None, environ: dict[str, str], expected: Path) -> None:
    assert find_config_path(cli, environ) == expected


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_duration, "90s", timedelta(seconds=90)),
        (parse_duration, "1d", timedelta(days=1)),
        (parse_duration, "1h30m", timedelta(minutes=90)),
        (parse_size, "100B", 100),
        (parse_size, "512KB", 512 * 1024),
        (parse_size, "1GB", 1 << 30),
        (parse_time, "08:30", time(8, 30)),
        (parse_time, "23:59", time(23, 59)),
        (parse_time, "off", None),
        (parse_rate_limit, "5/s", RateLimit(5, timedelta(seconds=1))),
        (parse_rate_limit, "100/min", RateLimit(100, timedelta(minutes=1))),
        (parse_rate_limit, "1000/h", RateLimit(1000, timedelta(hours=1))),
        (parse_rate_limit, "20/1m", RateLimit(20, timedelta(minutes=1))),
    ],
)
def test_value_parsers(parse: object, text: str, expected: object) -> None:
    assert parse(text) == expected  # type: ignore[operator]
