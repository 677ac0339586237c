"""Buckets for the discovery tests (not a shipped package)."""

from buckets import all_, days, define_bucket, event, not_, prop

trial = define_bucket(id="sample-trial", name="Sample trial",
                      criteria=all_(prop("plan").eq("trial"), prop("trial_days_left").lte(3)))
dormant = define_bucket(id="sample-dormant", name="Sample dormant", time_based=True,
                        criteria=all_(event("app.active"),
                                      not_(event("app.active").within(days(30)))))
