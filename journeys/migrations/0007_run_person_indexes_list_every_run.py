# Every park of a run adds an entry to each of its indexes (docs/storage.md). The
# run had two indexes per person: a contact's (or key's) runs, and one live run
# per contact (or key) and journey. Each pair is now one unique index over
# (person, journey, one value for every live run, else the run's own id): it
# still lets a person hold one live run per journey, and it lists every run of
# theirs for the lookups the narrower index served. Indexes only: no row
# changes, so runs parked before this resume unchanged. The new indexes are
# built before the old ones go (one transaction on PostgreSQL and SQLite).

import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models

LIVE_OR_ID = models.Case(
    models.When(status__in=('active', 'waiting'),
                then=django.db.models.functions.comparison.Cast(
                    models.Value('00000000-0000-0000-0000-000000000000'),
                    output_field=models.UUIDField())),
    default=models.F('id'),
)


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0002_erasurerecord'),
        ('journeys', '0006_run_timezone_journal_per_park'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='journeyrun',
            constraint=models.UniqueConstraint(
                models.F('user_key'), models.F('journey_id'), LIVE_OR_ID,
                name='run_key_journey_uniq'),
        ),
        migrations.AddConstraint(
            model_name='journeyrun',
            constraint=models.UniqueConstraint(
                models.F('contact'), models.F('journey_id'), LIVE_OR_ID,
                name='run_contact_journey_uniq'),
        ),
        migrations.RemoveConstraint(
            model_name='journeyrun',
            name='run_live_per_key_uniq',
        ),
        migrations.RemoveConstraint(
            model_name='journeyrun',
            name='run_live_per_contact_uniq',
        ),
        migrations.RemoveIndex(
            model_name='journeyrun',
            name='run_user_key_idx',
        ),
        migrations.AlterField(
            model_name='journeyrun',
            name='contact',
            field=models.ForeignKey(
                blank=True, db_index=False, null=True,
                on_delete=django.db.models.deletion.SET_NULL, related_name='journey_runs',
                to='contacts.contact'),
        ),
    ]
