"""/config articles and /config article add: the library as a server sees it, and an uploaded
article's preview with its Add and Cancel buttons (answered from their custom_id, so they work after
a restart)."""

from __future__ import annotations

from typing import Any

import discord

from bot import library
from bot.article import ParsedArticle
from bot.library import ArticleInfo, ServerArticles
from cogs.utils.checks import require_manage_server
from cogs.utils.context import Interaction
from cogs.utils.formats import DESCRIPTION_MAX, FIELD_MAX, brand_embed, clip
from cogs.utils.logchannel import mirror_to_log
from cogs.utils.replies import DynamicView, SafeDynamicItem, defer, send_ephemeral

def article_line(article: ArticleInfo, server: ServerArticles, guild_id: int) -> str:
    on = article.id in server.ids
    marks = []
    if server.featured is not None and article.id == server.featured.id:
        marks.append("⭐ featured")
    if article.guild_id == guild_id:
        marks.append("uploaded here")
    marks.append(f"{article.paragraphs} paragraphs, {article.comments} comments")
    return f"{'✅' if on else '⬜'} **#{article.id}** {article.title}" + (f" · {' · '.join(marks)}" if marks else "")


def library_embed(guild: discord.Guild, server: ServerArticles, every: list[ArticleInfo]) -> discord.Embed:
    lines = [article_line(a, server, guild.id) for a in every]
    embed = brand_embed(f"Articles in {guild.name}", clip(
        "✅ shown to members in /study, /quote and /topics · ⬜ turned off\n\n" + "\n".join(lines), DESCRIPTION_MAX))
    embed.set_footer(text="Change with /config articles turn_on: turn_off: feature: · "
                          "add your own with /config article add")
    return embed


def preview_embed(parsed: ParsedArticle, file_name: str) -> discord.Embed:
    embed = brand_embed(clip(f"Preview: {parsed.title}", 256),
                        f"From **{clip(file_name, 100)}**. Nothing is added until you press **Add this article**; "
                        "it will be shown in this server only.")
    replies = sum(1 for c in parsed.comments if c.reply_to)
    embed.add_field(name="Byline", value=clip(parsed.byline or "none found", FIELD_MAX), inline=True)
    embed.add_field(name="Found", value=f"{len(parsed.paragraphs)} paragraphs, {len(parsed.comments)} reader comments "
                                        f"({replies} {'reply' if replies == 1 else 'replies'})", inline=True)
    embed.add_field(name="First paragraph", value=clip(parsed.paragraphs[0], FIELD_MAX), inline=False)
    if parsed.removed:
        dropped = "\n".join(f"• “{clip(' '.join(text.split()), 80)}”: {parsed.why.get(text, 'not part of the article')}"
                            for text in dict.fromkeys(parsed.removed))
    else:
        dropped = "Nothing."
    embed.add_field(name="Left out, and why", value=clip(dropped, FIELD_MAX), inline=False)
    return embed


def preview_view(upload_id: int) -> DynamicView:
    view = DynamicView()
    view.add_item(UploadedArticleButton("add", upload_id))
    view.add_item(UploadedArticleButton("cancel", upload_id))
    return view


class UploadedArticleButton(SafeDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                            template=r"fibrocircle:article:(?P<action>add|cancel):(?P<upload>\d{1,18})"):
    """Add this article / Cancel, under an upload's preview."""

    LABELS = {"add": ("Add this article", discord.ButtonStyle.success), "cancel": ("Cancel", discord.ButtonStyle.secondary)}

    def __init__(self, action: str, upload_id: int) -> None:
        label, style = self.LABELS[action]
        super().__init__(discord.ui.Button(label=label, style=style,
                                           custom_id=f"fibrocircle:article:{action}:{upload_id}"))
        self.action = action
        self.upload_id = upload_id

    @classmethod
    async def from_custom_id(cls, interaction: Interaction, item: discord.ui.Item, match: Any) -> "UploadedArticleButton":
        return cls(match["action"], int(match["upload"]))

    async def handle(self, interaction: Interaction) -> None:
        await require_manage_server(interaction)
        guild = interaction.guild
        assert guild is not None
        if self.action == "cancel":
            gone = await library.cancel_upload(interaction.client.db, self.upload_id, guild.id)
            await send_ephemeral(interaction, "Cancelled: the file was not added, and the bot no longer keeps it."
                                 if gone else "That upload was already added or cancelled. Nothing was changed.")
            return
        await defer(interaction, ephemeral=True)  # parsing and the study card take a moment
        report, entry = await library.add_upload(interaction.client.db, self.upload_id, guild.id, interaction.user.id)
        if report.loaded:
            text = (f"Added **#{report.article_id} {clip(report.title, 200)}** to this server's articles: members "
                    f"see it in /study (pick it with `article:`), and its {report.comments} reader comments in /quote "
                    f"and /topics. To make it the default for /study: `/config articles feature:#{report.article_id}`.")
        else:
            text = (f"**#{report.article_id} {clip(report.title, 200)}** is already in this server's library; "
                    "nothing was added. Turn it on or feature it with `/config articles`.")
        await send_ephemeral(interaction, text)
        await mirror_to_log(interaction.client, guild, [entry])
