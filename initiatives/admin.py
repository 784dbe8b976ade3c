from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html_join
from django.utils.text import Truncator
from rest_framework.authtoken.models import TokenProxy
from simple_history.admin import SimpleHistoryAdmin

from portfolio import policy
from portfolio.admin_site import ReadOnlyAdminMixin
from portfolio.roles import Role, Side

from .lane_assessment import QUESTIONS
from .models import (
    CodeSequence,
    CoFundingAgreement,
    Initiative,
    InitiativeChangeProposal,
    InitiativeTransition,
    Notification,
    Profile,
)
from .notifications import notifications_send_again

User = get_user_model()


class ProfileInline(admin.StackedInline):
    """A user's side and title, edited with the user and their roles (groups)."""

    model = Profile
    can_delete = False
    extra = 1
    max_num = 1


admin.site.unregister(User)


@admin.register(User)
class PortfolioUserAdmin(UserAdmin):
    """People: who they are, their role(s) and their side. The role (the group) decides what a person may
    do, the admin included (`portfolio.admin_site`), so Django's Staff, Superuser and per-user
    permission fields are not on these forms: posting them changes nothing."""

    inlines = [ProfileInline]
    list_display = ("username", "first_name", "last_name", "email", "roles", "side", "is_active")
    list_filter = ("groups", "profile__side", "is_active")
    filter_horizontal = ()
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Role", {"fields": ("groups", "is_active")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "usable_password", "password1", "password2")}),
        ("Role", {"fields": ("groups",)}),
    )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["widget"] = forms.CheckboxSelectMultiple
            field = super().formfield_for_manytomany(db_field, request, **kwargs)
            field.label = "Roles"
            field.help_text = (
                "What the person may do: pm (files initiatives), executive (signs off for their side), "
                "finance (budgets and actuals), admin (this administration). The side is set below."
            )
            return field
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "groups" and field is not None:
            field.widget.can_add_related = False  # the roles are given here, not invented
        return field

    @admin.display(description="Roles")
    def roles(self, user) -> str:
        names = sorted(group.name for group in user.groups.all())
        if user.is_superuser and Role.ADMIN not in names:
            names.append("admin (superuser)")
        return ", ".join(names) or "none"

    @admin.display(description="Side", ordering="profile__side")
    def side(self, user) -> str:
        return dict(Side.choices).get(policy.side(user), "—")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("profile").prefetch_related("groups")


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "side", "title")
    list_filter = ("side",)
    search_fields = ("user__username", "user__first_name", "user__last_name", "title")
    list_select_related = ("user",)


@admin.register(Initiative)
class InitiativeAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read here, with its history; changed only in the app.

    Filing, sign-off, change proposals and transitions are the workflow of PRODUCT.md §2
    (`initiatives.services`): editing the status, share, lane or sponsors here would
    skip the dual sign-off, the timeline and the notifications.
    """

    list_display = (
        "code",
        "title",
        "lane",
        "status",
        "health",
        "marketing_share_pct",
        "estimated_cost",
        "owner_name",
        "end_date",
    )
    list_per_page = 50
    exclude = ("lane_assessment",)
    list_filter = ("lane", "status", "health", "start_date")
    search_fields = ("code", "title", "summary", "owner__username", "owner__last_name")
    list_select_related = ("owner",)
    raw_id_fields = ("owner", "marketing_sponsor", "it_sponsor")
    filter_horizontal = ("platforms",)
    readonly_fields = ("code", "lane_assessment_answers", "created_at", "updated_at")
    show_full_result_count = False

    @admin.display(description="Owner", ordering="owner__last_name")
    def owner_name(self, initiative) -> str:
        return initiative.owner.get_full_name() or initiative.owner.get_username()

    @admin.display(description="Lane assessment")
    def lane_assessment_answers(self, initiative):
        """The questionnaire's questions and the PM's answers, as the filing form words them."""
        answers = initiative.lane_assessment or {}
        rows = [
            (question.text, dict(question.choices).get(answers.get(question.key), answers.get(question.key) or "—"))
            for question in QUESTIONS
        ]
        return format_html_join("", "<div>{} <strong>{}</strong></div>", rows)


@admin.register(CodeSequence)
class CodeSequenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read here; only filing moves it (a lower value would hand out codes again, PRODUCT.md §2)."""

    list_display = ("name", "last_value")
    search_fields = ("name",)
    list_filter = ("name",)


@admin.register(InitiativeTransition)
class InitiativeTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The timeline is a record: read it here, never edit it."""

    list_display = ("initiative", "action", "from_status", "to_status", "by", "at")
    list_filter = ("action", "to_status")
    search_fields = ("initiative__code", "by__username", "reason")
    list_select_related = ("initiative", "by")
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(InitiativeChangeProposal)
class InitiativeChangeProposalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Proposals are decided by the sponsors in the app (services) or withdrawn by their author; not
    edited or deleted here."""

    list_display = (
        "initiative",
        "status",
        "marketing_share_pct",
        "effective_from",
        "proposed_by",
        "proposed_at",
        "decided_at",
    )
    list_filter = ("status",)
    search_fields = ("initiative__code", "reason")
    list_select_related = ("initiative", "proposed_by")


@admin.register(CoFundingAgreement)
class CoFundingAgreementAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """The co-funding timeline is signed by both sponsors in the app (dual sign-off, approved share
    changes: `initiatives.agreements`); read it here with its history, never edit it."""

    list_display = (
        "initiative",
        "effective_from",
        "marketing_share_pct",
        "marketing_signed_by",
        "marketing_signed_at",
        "it_signed_by",
        "it_signed_at",
        "proposal",
    )
    list_filter = ("effective_from",)
    search_fields = ("initiative__code", "initiative__title")
    list_select_related = ("initiative", "marketing_signed_by", "it_signed_by", "proposal")
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The e-mails the app sent or tried to send: a record, read here. Filter on status "Failed" to see
    those that did not go out and why; "Send again" gives the selected failed ones fresh attempts."""

    list_display = ("created_at", "status", "to_address", "about", "why")
    list_select_related = ("initiative",)
    list_filter = ("status", "kind")
    search_fields = ("initiative__code", "to_address", "subject")
    show_full_result_count = False
    actions = ("send_again",)
    fields = (
        ("kind", "initiative", "transition"),
        ("recipient", "to_address"),
        "subject",
        "body",
        ("status", "attempts", "error"),
        ("created_at", "started_at", "finished_at", "sent_at"),
    )
    readonly_fields = flatten(fields)

    @admin.display(description="About", ordering="initiative__code")
    def about(self, notification) -> str:
        return f"{notification.initiative.code} {notification.get_kind_display().lower()}"

    @admin.display(description="Error")
    def why(self, notification) -> str:
        return Truncator(notification.error).chars(100)

    @admin.action(description="Send the selected failed notifications again")
    def send_again(self, request, queryset):
        queued = notifications_send_again(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{queued} failed notification(s) queued again.", messages.SUCCESS)


# An API token is its owner's password for scripts: nobody reads another person's in the admin
# (the admin role would otherwise act as finance through the API, unseen). People get their own
# with POST /api/auth/token/.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
