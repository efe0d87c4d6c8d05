"""The stored records: accounts, membership applications with their history, queued mail."""

from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .extensions import db

ROLES = ("admin", "coordinator")

# The life of an application; the review workflow moves it along. "lapsed": closed by the daily
# run after the applicant left a question unanswered (see lepsite.review_clock). "ended": an
# approved membership that a coordinator ended or the organisation left (membership.ending).
STATES = (
    "submitted",
    "in_review",
    "info_requested",
    "approved",
    "ended",
    "rejected",
    "withdrawn",
    "lapsed",
)
OPEN_STATES = ("submitted", "in_review", "info_requested")
# The open rows of the lists, as SQL: the partial indexes' condition, word for word what the
# list's query says (SQLite uses a partial index only for the very same terms).
OPEN_CONDITION = (
    "state IN (" + ", ".join(f"'{state}'" for state in OPEN_STATES) + ") AND anonymised_at IS NULL"
)

# "Not sure" on the form: the admins route it.
NO_PARTNERSHIP = "not_sure"


def utcnow() -> datetime:
    """Timezone-aware now, so stored times compare the same on SQLite and PostgreSQL."""
    return datetime.now(UTC)


class User(UserMixin, db.Model):
    """A coordinator or an admin; the public never logs in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5), default="en")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    partnerships: Mapped[list["CoordinatorPartnership"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses sign-in and drops sessions of deactivated users."""
        return self.active

    def get_id(self) -> str:
        """The id Flask-Login keeps in the cookie; the server-side session decides the rest."""
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def partnership_keys(self) -> set[str]:
        return {link.partnership_key for link in self.partnerships}

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class CoordinatorPartnership(db.Model):
    """A coordinator's assignment to one partnership (by its content key)."""

    __tablename__ = "coordinator_partnerships"
    __table_args__ = (UniqueConstraint("user_id", "partnership_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    partnership_key: Mapped[str] = mapped_column(String(40), index=True)
    user: Mapped[User] = relationship(back_populates="partnerships")

    def __repr__(self) -> str:
        return f"<CoordinatorPartnership {self.user_id} {self.partnership_key}>"


def _reply_by(context) -> date:
    """The new row's reply-by date, from its own ``created_at`` (see review_clock.due_date).

    A column default, so every way of adding applications sets it (the form, bulk inserts of
    demo data). ``created_at`` is declared before ``due_on``, so its own default is already in
    the row's parameters here.
    """
    from .review_clock.dates import due_date  # the review clock imports these models

    return due_date(context.get_current_parameters().get("created_at") or utcnow())


def _search_text(context) -> str:
    """The new row's folded words for the admin search (see lepsite.admin.search); a column
    default, so bulk inserts of demo data fill it too. Updates: a hook in that module."""
    from .admin.search import search_text_of  # that module imports these models

    return search_text_of(context.get_current_parameters())


def _name_key(context) -> str:
    """The new row's name key from its name (see membership.duplicates); a column default, so
    bulk inserts of demo data fill it too. The ORM sets it on every change (``Application``)."""
    from .membership.duplicates import name_key  # that module imports these models

    return name_key(context.get_current_parameters().get("organisation_name"))


def _email_key(context) -> str:
    """The new row's e-mail address as compared (see ``_name_key``)."""
    from .membership.duplicates import email_key

    return email_key(context.get_current_parameters().get("email"))


class Application(db.Model):
    """One organisation's request to join a partnership, as typed on the form."""

    __tablename__ = "applications"
    # The review list counts and pages "not anonymised" rows, for everyone (by state) or for a
    # coordinator's partnerships: these indexes answer the counts on their own (no table
    # reads) and give the newest-first order without sorting, at 100,000 rows and more.
    __table_args__ = (
        Index("ix_applications_state_listing", "state", "anonymised_at", "created_at"),
        # Possible duplicates are looked up by value within what the viewer may see (not
        # anonymised; a coordinator's partnerships): each lookup is answered from its index
        # alone. With the scope's columns in them, SQLite (without statistics) prefers these
        # to the partnership index, which would read all of a partnership's rows.
        *(
            Index(f"ix_applications_{key}", key, "anonymised_at", "partnership_key")
            for key in ("registration_number", "name_key", "email_key")
        ),
        Index(
            "ix_applications_partnership_listing",
            "partnership_key",
            "state",
            "anonymised_at",
            "created_at",
        ),
        Index("ix_applications_partnership_created", "partnership_key", "created_at"),
        # PostgreSQL does not take ``anonymised_at IS NULL`` as fixing that column, so it
        # cannot read the two listing indexes above in date order and instead reads every
        # newer row of the other states. These partial indexes give it one state's (and one
        # partnership's) rows newest or oldest first. SQLite reads the listing indexes in
        # that order already; it does not get these (``ddl_if``; migration d19c6e990009).
        *(
            Index(
                f"ix_applications_{name}_created",
                *columns,
                "created_at",
                "id",
                postgresql_where=text("anonymised_at IS NULL"),
            ).ddl_if(dialect="postgresql")
            for name, columns in (
                ("state", ("state",)),
                ("partnership_state", ("partnership_key", "state")),
            )
        ),
        # The list filtered by type or by who took it, and a coordinator's list by name: the
        # count from the index alone, the page in its order (migration a06d2f550006).
        Index(
            "ix_applications_type_listing",
            "organisation_type",
            "anonymised_at",
            "created_at",
            "partnership_key",
        ),
        Index("ix_applications_assigned_listing", "assigned_to_id", "anonymised_at", "created_at"),
        Index("ix_applications_partnership_name", "partnership_key", "organisation_name"),
        # "Reply due soonest" lists open applications (admin.queries.Filters). PostgreSQL
        # reads them in that order from the two partial indexes (the list's query names the
        # same condition, OPEN_CONDITION). SQLite, without statistics, prefers an index that
        # starts with the state: from this one it takes each state's first rows in due order.
        Index("ix_applications_state_due", "state", "anonymised_at", "due_on"),
        Index(
            "ix_applications_open_due",
            "due_on",
            "id",
            sqlite_where=text(OPEN_CONDITION),
            postgresql_where=text(OPEN_CONDITION),
        ),
        Index(
            "ix_applications_open_partnership_due",
            "partnership_key",
            "due_on",
            "id",
            sqlite_where=text(OPEN_CONDITION),
            postgresql_where=text(OPEN_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    # The applicant's only key to the status page: long, random, never derived from the id.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # The form's one-time key: the same form sent twice finds this row instead of adding one.
    submission_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    partnership_key: Mapped[str] = mapped_column(String(40))
    organisation_name: Mapped[str] = mapped_column(String(200), index=True)
    organisation_type: Mapped[str] = mapped_column(String(40))
    municipality: Mapped[str] = mapped_column(String(120))
    website: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_role: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(5))
    contribution: Mapped[str] = mapped_column(Text)
    motivation: Mapped[str] = mapped_column(Text)
    consent_processing: Mapped[bool] = mapped_column(Boolean)
    consent_listing: Mapped[bool] = mapped_column(Boolean, default=False)
    # The organisation's EDRPOU code (Ukraine) or ID number (JIB, Bosnia and Herzegovina),
    # digits only; "" when not given (membership.registration).
    registration_number: Mapped[str] = mapped_column(String(20), default="")
    # The name and the address as compared for possible duplicates (membership.duplicates);
    # the validators below keep them right whenever the name or address is set.
    name_key: Mapped[str] = mapped_column(String(200), default=_name_key)
    email_key: Mapped[str] = mapped_column(String(254), default=_email_key)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When it was approved, rejected, withdrawn or closed as lapsed; and when an approved
    # membership ended. Retention counts from these (membership.retention).
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The reply-by date: received + REPLY_WORKING_DAYS working days, in the site's time zone.
    # After created_at on purpose (its default reads created_at).
    due_on: Mapped[date] = mapped_column(Date, default=_reply_by)
    # The coordinator (or admin) who took it: "assigned to me", shown to the others.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Folded words of the searched fields, indexed by FTS5 (SQLite) or pg_trgm (PostgreSQL).
    search_text: Mapped[str] = mapped_column(
        Text, default=_search_text, server_default="", deferred=True
    )

    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id], lazy="selectin")
    events: Mapped[list["ApplicationEvent"]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="ApplicationEvent.id",
    )
    recipients: Mapped[list["ApplicationRecipient"]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @validates("organisation_name")
    def _key_name(self, _attribute: str, value: str) -> str:
        """Keep ``name_key`` the key of the name, however the name is set."""
        from .membership.duplicates import name_key

        self.name_key = name_key(value)
        return value

    @validates("email")
    def _key_email(self, _attribute: str, value: str) -> str:
        """Keep ``email_key`` the address as compared."""
        from .membership.duplicates import email_key

        self.email_key = email_key(value)
        return value

    def __repr__(self) -> str:
        return f"<Application {self.reference} {self.state}>"


class ApplicationEvent(db.Model):
    """One step in an application's history: who did what, when, and why."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Empty for the applicant's own steps (submitting, answering, withdrawing).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    # Notes the applicant must read (a rejection reason, a question) show on the status page.
    shown_to_applicant: Mapped[bool] = mapped_column(Boolean, default=False)

    application: Mapped[Application] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ApplicationEvent {self.application_id} {self.action}>"


class ApplicationRecipient(db.Model):
    """A user an application was routed to; this is the routing record."""

    __tablename__ = "application_recipients"
    __table_args__ = (UniqueConstraint("application_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    routed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Why this user got it: "partnership" (its coordinator) or "fallback" (an admin).
    reason: Mapped[str] = mapped_column(String(20))

    application: Mapped[Application] = relationship(back_populates="recipients")
    user: Mapped[User] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ApplicationRecipient {self.application_id} -> {self.user_id}>"


class OutgoingMail(db.Model):
    """A message waiting to be sent; stored with the change that caused it, so none is lost.

    A sender claims a row (``claimed_by`` until ``claimed_until``) before it talks to the mail
    server, so two senders never both send it, and a killed sender's claim runs out.
    ``next_attempt_at`` spaces out the retries; after the last one ``failed_at`` is set and the
    message waits for a person (the admin, or ``flask mail retry``).
    """

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    # The application the message is about, if any (the status page tells its applicant).
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    application: Mapped[Application | None] = relationship()

    @property
    def state(self) -> str:
        """``sent``, ``failed`` (waits for a person) or ``pending`` (queued or being sent)."""
        if self.sent_at is not None:
            return "sent"
        return "failed" if self.failed_at is not None else "pending"

    def __repr__(self) -> str:
        return f"<OutgoingMail {self.id} to {self.recipient}>"
