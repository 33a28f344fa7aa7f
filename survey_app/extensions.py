"""Unbound extension objects; `create_app` binds them with `init_app`."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from survey_schema.models import Base

# The models subclass the plain `Base`, so they need no Flask; `db.metadata` is its metadata.
db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
