"""The whole data model: every capability's models, imported so that ``Base.metadata``
holds every table — for Alembic (``migrations/env.py``), ``alembic check`` and the tests.

Code that needs a model imports it from the package that owns it; only whole-schema
work starts here.
"""

from __future__ import annotations

from registry.core.models import Base
from registry.delivery import models as delivery_models
from registry.disclosure import models as disclosure_models
from registry.evaluation import models as evaluation_models
from registry.intake import models as intake_models
from registry.lists import models as lists_models
from registry.records import models as records_models
from registry.supervision import models as supervision_models

#: Every package holding models, lowest layer first.
MODEL_MODULES = (
    records_models,
    lists_models,
    evaluation_models,
    supervision_models,
    intake_models,
    delivery_models,
    disclosure_models,
)

metadata = Base.metadata

__all__ = ["MODEL_MODULES", "Base", "metadata"]
