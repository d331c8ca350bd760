"""The members' side of posts: /share, /myposts, /mydata and /privacy.

- /share opens a form (the experience, an optional topic hint, and whether to post anonymously).
  The core cleans, scans and commits the post as pending before the member is thanked; a post with
  crisis language gets the server's crisis resources at once, and the moderators an urgent alert.
  The form is read from the interaction itself, so a form sent just before a restart still
  arrives (the fallback cog asks `answer_orphan`). When the core refuses a post, the member gets
  their text back in the reply: nothing they typed is lost.
- /myposts lists the member's posts here with their state and any rejection reason, and withdraws
  one (its text is deleted, not hidden; copies in Discord are removed by the moderation worker).
- /mydata shows what is kept, sends a JSON copy, and forgets the member after a confirmation.
- /privacy says what is stored, why, for how long, who sees it and how to delete it.

Every reply here is private to the member.
"""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import posts, privacy, safety
from bot.errors import StorageUnavailable
from bot.posts import REMOVAL_GIVE_UP, REMOVAL_NOTICE_KEPT, AuthorNotified, Post, PostError, PostState, PublishState, RemovalNotice
from cogs.utils.context import Interaction, guild_config
from cogs.utils.formats import BRAND_COLOUR, brand_embed, clip, when
from cogs.utils.replies import BaseModal, DynamicView, SafeDynamicItem, defer, form_values, reply, send_ephemeral

if TYPE_CHECKING:
    from bot.app import FibroCircle

log = logging.getLogger("fibrocircle.posts")

SHARE_FORM_PREFIX = "fibrocircle:share:"
MYPOSTS_PAGE = 5
ALREADY_ANSWERED = 40060  # Discord's code when the same interaction is answered twice

# The share form's one choice about the name: its option values, as the form sends them back.
SHOW_NAME = {"anonymous": False, "named": True}

STATE_TEXT = {PostState.PENDING: "⏳ waiting for review", PostState.APPROVED: "✅ approved",
              PostState.REJECTED: "❌ not approved", PostState.WITHDRAWN: "↩️ withdrawn"}


# -- /share -----------------------------------------------------------------------------------

def chosen_anonymity(values: dict[str, str]) -> bool | None:
    """Whether the post is anonymous, as the member chose in the form. A form that did not ask (the
    server does not allow anonymous posts) means the name is shown; a form that asked and brings
    no choice it offered (only a modified client sends one) gives None: nothing is guessed."""
    if "anonymous" not in values:
        return False
    shown = SHOW_NAME.get(values["anonymous"])
    return None if shown is None else not shown


class ShareModal(BaseModal):
    def __init__(self, *, form_id: str, anonymous_allowed: bool) -> None:
        super().__init__(title="Share your experience", custom_id=form_id, timeout=30 * 60)
        self.add_item(discord.ui.TextDisplay(
            "A moderator reviews your post first; once approved it is shared in this server and members here "
            "may see it quoted. Submitting means you agree that Fibro Circle stores it. /privacy has the rest."))
        self.add_item(discord.ui.Label(
            text="Your experience",
            component=discord.ui.TextInput(custom_id="experience", style=discord.TextStyle.paragraph,
                                           min_length=posts.MIN_POST_LENGTH, max_length=posts.MAX_POST_LENGTH,
                                           placeholder="What has living with fibromyalgia been like for you?")))
        self.add_item(discord.ui.Label(
            text="Topic (optional)",
            description="A word or two, e.g. sleep, flares, work",
            component=discord.ui.TextInput(custom_id="topic", required=False,
                                           max_length=posts.MAX_TOPIC_HINT_LENGTH)))
        if anonymous_allowed:
            # Required, and nothing preselected: whether their name goes on a post about their
            # health is the member's decision, made knowingly each time, not a default they
            # may not notice (Discord's client does not submit the form until one is picked).
            self.add_item(discord.ui.Label(
                text="Post anonymously?",
                description="Choose one; nothing is chosen for you.",
                component=discord.ui.RadioGroup(custom_id="anonymous", required=True, options=[
                    discord.RadioGroupOption(label="Yes, without my name", value="anonymous",
                                             description="Nobody sees your name on it, moderators included."),
                    discord.RadioGroupOption(label="No, with my server name", value="named",
                                             description="Your server name is shown with your post."),
                ])))
        else:
            self.add_item(discord.ui.TextDisplay(
                "This server does not allow anonymous posts: your server name is shown with your post."))

    async def on_submit(self, interaction: Interaction) -> None:
        await share_submitted(interaction)


async def share_submitted(interaction: Interaction) -> None:
    """A /share form arrived: store it (committed), then thank the member, then tell the moderators."""
    guild = interaction.guild
    if guild is None:
        raise app_commands.NoPrivateMessage()
    try:  # the core may wait for the database; this keeps Discord's 3-second limit
        await defer(interaction, ephemeral=True)
    except discord.HTTPException as error:
        if error.code == ALREADY_ANSWERED:  # the same form delivered twice: the first one handles it
            log.info("share form %s was delivered twice", interaction.id)
            return
        raise
    bot = interaction.client
    values = form_values(interaction)
    text = values.get("experience", "")
    config = await guild_config(interaction)
    # If anonymous posting was turned off after the form opened, the core refuses an anonymous post
    # (the member gets their text back) rather than putting their name on it.
    anonymous = chosen_anonymity(values)
    if anonymous is None:
        await reply(interaction, "Your post was not saved: the form came back without your choice of whether "
                    "to post anonymously. Please open /share again, paste your text and pick one.",
                    embeds=your_text(text), ephemeral=True)
        return
    try:
        result = await posts.submit(
            bot.db, config, guild_id=guild.id, author_id=interaction.user.id,
            author_name=interaction.user.display_name, anonymous=anonymous, text=text,
            topic_hint=values.get("topic") or None, interaction_id=interaction.id,
            member_joined_at=getattr(interaction.user, "joined_at", None))
    except StorageUnavailable:
        await interaction.followup.send(
            "Your post was **not saved**: my storage can't be written just now (the disk may be full or read-only). "
            "Your text is below, so nothing you wrote is lost; please share it again later.",
            embeds=your_text(text), ephemeral=True)
        return
    except PostError as error:
        await reply(interaction, str(error), embeds=your_text(text), ephemeral=True)
        return
    post = result.post
    if result.scan.crisis:
        answer = (safety.crisis_message(config.crisis_resources)
                 + f"\n\nYour post is saved as {post.label} and a moderator will see it soon.")
    else:
        answer = (f"Thank you for sharing. Your post is saved as {post.label} and a moderator will review it; "
                 + ("it will be shared without your name. " if post.anonymous else "it will be shared under your server name. ")
                 + "You'll get a DM when it's decided (if your DMs are open), and /myposts always shows where it stands.")
    if not result.scan.crisis:  # help in reach whatever the detector said (the crisis message has it already)
        answer += "\n" + safety.help_line(config.crisis_resources)
    await reply(interaction, clip(answer, 2000), ephemeral=True)
    if result.created:  # the moderation cog puts it in the queue channel
        bot.dispatch("fibrocircle_post_shared", guild, post, interaction.user, result.scan, config)


def your_text(text: str) -> list[discord.Embed]:
    """The member's own text, handed back with a refusal so that nothing they wrote is lost."""
    if not text.strip():
        return []
    embed = discord.Embed(title="Your text, to copy (nothing was saved)", description=clip(text, 4000),
                          colour=BRAND_COLOUR)
    return [embed]


# -- /myposts ---------------------------------------------------------------------------------

def _messages(count: int) -> str:
    return f"{count} message{'s' if count != 1 else ''}"


def removal_text(notice: RemovalNotice, what: str = "it") -> str:
    """What became of the messages in Discord that showed a withdrawn post (or, for "Forget me",
    `what` = "your posts"), in plain words: removed, still being tried, or where they still are."""
    shown = f"the {_messages(notice.listed)} in Discord that showed {what}"
    if notice.pending:
        return (f"Removed so far: {notice.removed} of {shown}. I'm still trying to remove the rest "
                f"(for up to {REMOVAL_GIVE_UP.days} days).")
    if not notice.given_up:
        return f"Removed: all of {shown}."
    left = len(notice.given_up)
    places = ", ".join(dict.fromkeys(f"<#{channel}>" for _, channel in notice.given_up))
    one = left == 1
    return (f"Removed: {notice.removed} of {shown}. {left} could not be removed: Discord refused for "
            f"{REMOVAL_GIVE_UP.days} days (the bot may have lost its permissions there). "
            f"{'It is' if one else 'They are'} in {places}: ask that server's moderators to delete "
            f"{'it' if one else 'them'}.")


def post_summary(post: Post, notice: RemovalNotice | None = None) -> str:
    lines = []
    if post.state == PostState.WITHDRAWN:
        lines.append("*You withdrew it: its text is deleted.*")
        if notice is not None:
            lines.append(removal_text(notice))
    else:
        lines.append(clip(post.text, 300))
    if post.state == PostState.REJECTED:
        lines.append(f"**Reason:** {clip(post.reason or 'none given', 400)}")
    if post.state == PostState.APPROVED:
        if post.publish_state == PublishState.PUBLISHED:
            lines.append(f"Shared in <#{post.published_channel_id}>"
                         + (" without your name." if post.anonymous else " under your name."))
        else:
            lines.append("Approved; it will appear in the posts channel shortly.")
    if post.decided_at:
        told = {AuthorNotified.DM_SENT: " You were told by DM.",
                AuthorNotified.DM_FAILED: " Your DMs were closed, so this is where you can see the decision."}
        lines.append(f"Decided {when(post.decided_at)}.{told.get(post.author_notified or '', '')}")
    else:
        lines.append(f"Shared {when(post.created_at)}" + (", anonymously." if post.anonymous else ", under your name."))
    return clip("\n".join(lines), 1024)


async def myposts_page(interaction: Interaction, offset: int) -> tuple[discord.Embed, discord.ui.View | None]:
    assert interaction.guild is not None
    db = interaction.client.db
    offset = max(offset, 0)
    found = await posts.my_posts(db, interaction.guild.id, interaction.user.id, limit=MYPOSTS_PAGE + 1, offset=offset)
    shown, more = found[:MYPOSTS_PAGE], len(found) > MYPOSTS_PAGE
    notices: dict[int | None, RemovalNotice] = {}
    if any(post.state == PostState.WITHDRAWN for post in shown):
        for notice in await posts.removal_notices(db, interaction.user.id, guild_id=interaction.guild.id):
            notices.setdefault(notice.post_number, notice)  # the newest first
    if not shown:
        text = ("You haven't shared anything in this server yet. /share opens the form." if offset == 0
                else "No more posts.")
        return brand_embed("Your posts here", text), None
    embed = brand_embed("Your posts here", "Newest first. Withdrawing a post deletes its text and removes it from "
                                           "the server; it can't be undone.")
    view = DynamicView()
    for post in shown:
        embed.add_field(name=f"{post.label} · {STATE_TEXT.get(post.state, post.state)}",
                        value=post_summary(post, notices.get(post.number)), inline=False)
        if post.state != PostState.WITHDRAWN:
            view.add_item(WithdrawButton(post.id, post.number, confirm=False))
    if offset > 0 or more:
        view.add_item(MyPostsPageButton("prev", max(offset - MYPOSTS_PAGE, 0), disabled=offset == 0))
        view.add_item(MyPostsPageButton("next", offset + MYPOSTS_PAGE, disabled=not more))
    return embed, (view if view.children else None)


class MyPostsPageButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                        template=r"fibrocircle:myposts:(?P<kind>prev|next|back):(?P<offset>[0-9]{1,6})"):
    def __init__(self, kind: str, offset: int, *, disabled: bool = False) -> None:
        label = {"prev": "◀ Newer", "next": "Older ▶", "back": "Keep it"}[kind]
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, disabled=disabled,
                                           custom_id=f"fibrocircle:myposts:{kind}:{offset}", row=1 if kind != "back" else 0))
        self.offset = offset

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "MyPostsPageButton":
        return cls(match["kind"], int(match["offset"]))

    async def handle(self, interaction: Interaction) -> None:
        embed, view = await myposts_page(interaction, self.offset)
        await interaction.response.edit_message(content=None, embed=embed, view=view)


class WithdrawButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                     template=r"fibrocircle:myposts:(?P<step>withdraw|withdraw-yes):(?P<id>[0-9]{1,18}):(?P<number>[0-9]{1,18})"):
    """"Withdraw #3" asks first; "Yes, withdraw #3" does it. The core checks that the post is the
    member's own and in this server, so a forged id withdraws nothing."""

    def __init__(self, post_id: int, number: int, *, confirm: bool) -> None:
        step = "withdraw-yes" if confirm else "withdraw"
        label = f"Yes, withdraw #{number}" if confirm else f"Withdraw #{number}"
        style = discord.ButtonStyle.danger if confirm else discord.ButtonStyle.secondary
        super().__init__(discord.ui.Button(label=label, style=style, row=0,
                                           custom_id=f"fibrocircle:myposts:{step}:{post_id}:{number}"))
        self.post_id, self.number, self.confirm = post_id, number, confirm

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "WithdrawButton":
        return cls(int(match["id"]), int(match["number"]), confirm=match["step"] == "withdraw-yes")

    async def handle(self, interaction: Interaction) -> None:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        if not self.confirm:
            view = DynamicView()
            view.add_item(WithdrawButton(self.post_id, self.number, confirm=True))
            view.add_item(MyPostsPageButton("back", 0))
            await interaction.response.edit_message(
                content=f"Withdraw Post #{self.number}? Its text is deleted now, not hidden, and any copy in this "
                        "server is removed. This can't be undone.", embed=None, view=view)
            return
        bot = interaction.client
        post = await posts.withdraw(bot.db, self.post_id, interaction.user.id, guild_id=interaction.guild.id)
        bot.dispatch("fibrocircle_work")  # removes the queue message and any published copy
        embed, view = await myposts_page(interaction, 0)
        await interaction.response.edit_message(
            content=f"{post.label} is withdrawn: its text is deleted, and any copy in this server is being removed "
                    "(/myposts shows when they are all gone, or any that could not be removed).",
            embed=embed, view=view)


# -- /mydata ----------------------------------------------------------------------------------

def data_summary(data: dict[str, Any]) -> str:
    servers = {p["server_id"] for p in data["posts"]}
    counts = [
        (len(data["posts"]), "post you shared", "posts you shared",
         f" (in {len(servers)} server{'s' if len(servers) != 1 else ''})"),
        (len(data["blocked_in_servers"]), "server where you are blocked from posting",
         "servers where you are blocked from posting", ""),
        (len(data["server_settings_you_changed"]), "server setting you changed", "server settings you changed", ""),
        (len(data["your_actions_in_the_audit_log"]), "entry in the moderation log about something you did",
         "entries in the moderation log about things you did", ""),
        (len(data["quote_searches_remembered"]), "/quote search remembered (so “Another” doesn't repeat)",
         "/quote searches remembered (so “Another” doesn't repeat)", ""),
        (len(data["quotes_shown_to_you"]), "quote shown to you", "quotes shown to you", ""),
    ]
    return "\n".join(f"• {n:,} {one if n == 1 else many}{extra if n else ''}" for n, one, many, extra in counts)


class ForgetButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                   template=r"fibrocircle:mydata:(?P<step>forget|forget-yes|keep)"):
    LOOKS = {"forget": ("Forget me", discord.ButtonStyle.danger),
             "forget-yes": ("Yes, delete everything", discord.ButtonStyle.danger),
             "keep": ("Keep my data", discord.ButtonStyle.secondary)}

    def __init__(self, step: str) -> None:
        label, style = self.LOOKS[step]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"fibrocircle:mydata:{step}"))
        self.step = step

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "ForgetButton":
        return cls(match["step"])

    async def handle(self, interaction: Interaction) -> None:
        if self.step == "keep":
            await interaction.response.edit_message(content="Nothing was deleted.", embed=None, view=None,
                                                    attachments=[])
            return
        if self.step == "forget":
            view = DynamicView()
            view.add_item(ForgetButton("forget-yes"))
            view.add_item(ForgetButton("keep"))
            await interaction.response.edit_message(
                content="This deletes your posts (in every server), their history, your /quote history, the log "
                        "entries about what you did as a member, and your id everywhere. What you did as a moderator "
                        "or admin stays in the log under a name like “former member #3”; when you shared in the last "
                        "24 hours stays for 24 hours as a keyed code (not your id), so that posting limits still "
                        "hold; moderators' blocks stay. It can't be undone. Are you sure?",
                embed=None, view=view, attachments=[])
            return
        bot = interaction.client
        report = await privacy.forget_member(bot.db, interaction.user.id)
        bot.dispatch("fibrocircle_work")  # deletes the messages that showed the posts
        lines = [f"Done. {report.posts_deleted} post{'s' if report.posts_deleted != 1 else ''} and everything else "
                 "about you are deleted."]
        if report.messages_to_remove:
            lines.append(f"{_messages(report.messages_to_remove)} showing your posts "
                         f"{'is' if report.messages_to_remove == 1 else 'are'} being removed from Discord; /mydata "
                         "shows when they are all gone, or any that could not be removed.")
        if report.still_blocked_in:
            lines.append("A block placed by moderators in a server stays: it holds no text, and lifting it is "
                         "their decision.")
        await interaction.response.edit_message(content="\n".join(lines), embed=None, view=None, attachments=[])


# -- /privacy ---------------------------------------------------------------------------------

PRIVACY = (
    ("What is stored", "What you send with /share: the text, your topic hint, and your Discord id (always, even for "
     "anonymous posts, so that you can be told the decision and can withdraw it). Your server name only if you post "
     "under your name. The post's review state, the moderators' reason, safety flags and detected topics, and a "
     "history of what happened to it (no text). Also the /quote searches you made and the quotes you were shown."),
    ("Why", "So that moderators can review posts before anyone else sees them, so that approved posts can be "
     "shared and quoted in this server, and so that you can see, withdraw or delete what you shared."),
    ("For how long", "Posts: until you withdraw them or use “Forget me”. /quote history: a few weeks. "
     f"The moderation log keeps who did what (never post text) for {privacy.AUDIT_RETENTION.days} days. "
     "“Forget me” deletes your content "
     "and your id, but keeps, without your id or text: what you did as a moderator or admin, under a name like "
     "“former member #3”, and when you shared in the last 24 hours, as a keyed code of your id for at most 24 hours, "
     "so that the cooldown and daily cap still hold. "
     f"If a server removes the bot, everything it keeps about that server (posts, settings, the log, /quote history, "
     f"the server's own articles) is deleted {privacy.GUILD_GRACE.days} days later, unless the bot is added back "
     "first; messages the bot posted there stay in that server, where it can no longer reach them."),
    ("Who sees it", "This server's moderators see every post before it's decided, with your name only if you "
     "posted under it. Members of this server see approved posts only, and no name on anonymous ones. Your id is "
     "shown to nobody. Nothing is shared with other servers or anyone else."),
    ("Safety checks", "The bot itself checks posts for crisis language and unproven cure claims, so that a person "
     "in crisis is shown help at once and moderators see it quickly. Nothing is sent anywhere else."),
    ("How to delete it", "/myposts: withdraw a post (its text is deleted, not hidden). /mydata: see everything "
     "kept about you, get a copy, or “Forget me” to delete it all. The bot also deletes its messages that showed "
     f"your posts; if Discord refuses, it keeps trying for {REMOVAL_GIVE_UP.days} days, and /myposts and /mydata "
     "tell you what was removed and where any message it could not remove still is (kept, under a keyed code of "
     f"your id, until {REMOVAL_NOTICE_KEPT.days} days after the last one was dealt with)."),
)


class Posts(commands.Cog):
    def __init__(self, bot: FibroCircle) -> None:
        self.bot = bot

    @property
    def db(self) -> Any:
        return self.bot.db

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MyPostsPageButton, WithdrawButton, ForgetButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MyPostsPageButton, WithdrawButton, ForgetButton)

    async def answer_orphan(self, interaction: Interaction) -> bool:
        """A /share form submitted after a restart (or after the form timed out): still stored."""
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if interaction.type is discord.InteractionType.modal_submit and custom_id.startswith(SHARE_FORM_PREFIX):
            await share_submitted(interaction)
            return True
        return False

    @app_commands.command(name="share", description="Share your experience with this server (a moderator reviews it)")
    @app_commands.guild_only()
    async def share(self, interaction: Interaction) -> None:
        assert interaction.guild is not None
        config = await guild_config(interaction)
        # The same checks submit makes, before the member types anything (submit checks again).
        await posts.check_may_post(
            self.db, config, guild_id=interaction.guild.id, author_id=interaction.user.id,
            member_joined_at=getattr(interaction.user, "joined_at", None))
        await interaction.response.send_modal(ShareModal(form_id=f"{SHARE_FORM_PREFIX}{interaction.id}",
                                                         anonymous_allowed=config.anonymous_allowed))

    @app_commands.command(name="myposts", description="Your posts in this server, their review state, and withdrawing one")
    @app_commands.guild_only()
    async def myposts(self, interaction: Interaction) -> None:
        embed, view = await myposts_page(interaction, 0)
        await send_ephemeral(interaction, embed=embed, **({"view": view} if view else {}))

    @app_commands.command(name="mydata", description="What Fibro Circle keeps about you, a copy, and “forget me”")
    async def mydata(self, interaction: Interaction) -> None:
        data = await privacy.export_member_data(self.db, interaction.user.id)
        embed = brand_embed("What Fibro Circle keeps about you", data_summary(data))
        embed.add_field(name="Your copy", value="The attached file holds all of it, including the text of your posts.",
                        inline=False)
        notices = await posts.removal_notices(self.db, interaction.user.id)
        if notices:
            embed.add_field(name="Messages in Discord that showed what you deleted", value=clip("\n".join(
                f"• {'Post #' + str(n.post_number) if n.post_number is not None else 'Forget me'}: "
                + removal_text(n, "it" if n.post_number is not None else "your posts") for n in notices[:5]), 1024),
                inline=False)
        embed.add_field(name="Forget me", value="Deletes your posts and personal data in every server, after you "
                                                "confirm. /privacy explains the rest.", inline=False)
        view = DynamicView()
        view.add_item(ForgetButton("forget"))
        raw = json.dumps(data, indent=2, ensure_ascii=False).encode()
        await send_ephemeral(interaction, embed=embed, view=view,
                             file=discord.File(io.BytesIO(raw), filename="fibro-circle-my-data.json"))

    @app_commands.command(name="privacy", description="What Fibro Circle stores about you, why, and how to delete it")
    async def privacy(self, interaction: Interaction) -> None:
        embed = brand_embed("Your privacy with Fibro Circle")
        for name, value in PRIVACY:
            embed.add_field(name=name, value=value, inline=False)
        embed.add_field(name="What deleting means", value=privacy.deleted_text(self.bot.config.database_url), inline=False)
        await send_ephemeral(interaction, embed=embed)


async def setup(bot: FibroCircle) -> None:
    await bot.add_cog(Posts(bot))
