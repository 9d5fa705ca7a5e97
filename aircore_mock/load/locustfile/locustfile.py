"""aircore-mock's ready locustfile: users that play generated Aircore lifecycles.

    locust -f "$(aircore-mock load --locustfile)" --host http://127.0.0.1:8000/aircore \\
        --aircore-scenario upload-failed --aircore-seed 7

Every Locust option works; the --aircore-* options (see `locust --help` with this file)
choose what the users play. `aircore-mock load` runs this same file.

This folder holds nothing else on purpose: Locust puts a locustfile's folder on the import
path while it loads it, and the package's own modules must not shadow the standard
library, Locust or anything else there.
"""

from aircore_mock.load.users import AircoreCallbacksUser


class AircoreUser(AircoreCallbacksUser):
    """Plays the scenario the options name (mixed by default), as fast as answers come."""
