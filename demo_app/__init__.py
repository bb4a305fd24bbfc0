"""AppDbNotes: a small Tkinter notes app that shows app_db's whole launch flow.

Run it with ``python -m demo_app`` (or ``--headless`` where there is no display).
"""

import os

# In a checkout the demo's migrations are the repository's migrations/ folder; every build of the demo (and an
# app's own layout) has them at demo_app/migrations/. app_db's wheel carries app_db only, so the checkout maps
# them here: demo_app.migrations is <checkout>/migrations.
_checkout = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not os.path.isdir(os.path.join(__path__[0], "migrations")) and os.path.isfile(
    os.path.join(_checkout, "migrations", "__init__.py")
):
    __path__.append(_checkout)
