"""Translated names for the codes applications store."""

from flask_babel import lazy_gettext as _l

ORGANISATION_TYPES = {
    "public_employment_service": _l("Public employment service"),
    "municipality": _l("Municipality or local authority"),
    "employer": _l("Employer (company)"),
    "employers_organisation": _l("Employers' organisation"),
    "workers_organisation": _l("Workers' organisation or trade union"),
    "education": _l("Education or training institution"),
    "ngo": _l("NGO or civil society organisation"),
    "development_agency": _l("Development agency"),
    "chamber": _l("Chamber of commerce or crafts"),
    "financial_institution": _l("Financial institution"),
    "other": _l("Other"),
}

STATE_LABELS = {
    # i18n: state of a membership application
    "submitted": _l("Received"),
    # i18n: state of a membership application
    "in_review": _l("In review"),
    # i18n: state of a membership application: the coordinators asked the applicant a question
    "info_requested": _l("More information requested"),
    # i18n: state of a membership application
    "approved": _l("Approved"),
    # i18n: state of a membership application: approved once, the membership has since ended
    "ended": _l("Membership ended"),
    # i18n: state of a membership application
    "rejected": _l("Not approved"),
    # i18n: state of a membership application
    "withdrawn": _l("Withdrawn"),
    # i18n: state of a membership application: closed because the applicant did not answer a
    # question in time
    "lapsed": _l("Closed: no answer"),
}

# What the applicant reads in the history on the status page.
ACTION_LABELS = {
    "submitted": _l("Application received"),
    "routed": _l("Sent to the partnership's coordinators"),
    "start_review": _l("Review started"),
    "request_info": _l("The coordinators asked for more information"),
    "info_provided": _l("You answered the coordinators"),
    "approve": _l("Application approved"),
    "reject": _l("Application not approved"),
    "withdrawn": _l("You withdrew the application"),
    "rerouted": _l("Passed to other coordinators"),
    "note": _l("Internal note"),
    "lapsed": _l("Closed: the question was not answered in time"),
    "ended": _l("Membership ended by the coordinators"),
    "left": _l("You ended the membership"),
    # Staff-only steps (the status page leaves them out: see STAFF_ONLY_ACTIONS).
    "assigned": _l("Taken by a coordinator"),
    "released": _l("Released for others to take"),
    "corrected": _l("You corrected the application"),
}

# History steps only the staff see.
STAFF_ONLY_ACTIONS = ("note", "assigned", "released")

NOT_SURE_LABEL = _l("Not sure yet: let the coordinators advise")

# The fields an applicant may correct (see operations.correct_application), by short name: the
# history and the coordinators' mail list what changed under these names.
FIELD_LABELS = {
    "organisation_name": _l("Organisation name"),
    "organisation_type": _l("Type of organisation"),
    "registration_number": _l("Registration number"),
    "municipality": _l("Municipality or city"),
    "website": _l("Website"),
    "contact_name": _l("Contact person"),
    "contact_role": _l("Role of the contact person"),
    "email": _l("E-mail address"),
    "phone": _l("Phone"),
    "language": _l("Language"),
    "contribution": _l("What can your organisation contribute?"),
    "motivation": _l("Why do you want to join?"),
    "consent_listing": _l("May be listed publicly"),
}
