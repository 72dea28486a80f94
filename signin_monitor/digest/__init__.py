"""The daily digest (issue 14): one Slack summary of a UTC day, and the same as text locally.

* ``sources`` reads the day: the alert claims of the day and each account's events of the day,
  one key range each (``DynamoDbDayReader``, ``SqliteDayReader``);
* ``gather`` folds them into a ``model.Digest`` (counts by account and rule, suppressed and
  medium alerts, sign-ins without MFA, the top failing principals and addresses);
* ``render`` turns a digest into Block Kit or readable text, every typed value escaped;
* ``deliver`` is the scheduled invocation's side: recognise the Scheduler's event, claim the
  day's digest, post it once.

Nothing is imported here: ``handler.py`` imports ``deliver`` on every cold start (to recognise
the event), and the rest only when a digest is due.
"""
