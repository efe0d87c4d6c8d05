"""Data requests: a person's copy of what the site stores about their e-mail address, and its
erasure.

The privacy notice promises copies and deletion on request; this package keeps the promise:

- ``queries.holdings`` finds everything stored about an address (in any letter case, spaces
  trimmed) and ``queries.export`` writes it as JSON: the applications made with it (every
  column, so a new one appears without an edit here), their history, the mail about them and
  to the address, the audit entries that name them, and a staff account of that address.
- ``operations.erase`` anonymises all of it at once, approved members included, as retention
  does after its time (``membership.retention.strip_personal_data``), and deletes the mail.
- ``operations.mail_copy`` mails the applicant their copy from the status page, to the address
  on file, never to the page.

They are reached by ``flask applications export-person`` / ``erase-person`` (``cli``), by the
admins on an application's page (``admin_views``) and by applicants (``copy_views``). Every
export and erasure is audited, by counts and application references: the address erased is
never written down again.
"""

from .operations import Erasure, erase, mail_copy
from .queries import Holdings, export, holdings

__all__ = ["Erasure", "Holdings", "erase", "export", "holdings", "mail_copy"]
