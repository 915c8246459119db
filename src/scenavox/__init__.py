"""scenavox: scenario-first synthetic speech corpora.

    import scenavox as sv
    sc = sv.load_scenario("car")
    run = sv.build(sc, n=20)
"""

from .api import RunResult, ShortCorpus, build, evaluate
from .errors import UserError
from .scenario import Scenario, load_scenario, parse_scenario

__all__ = ["RunResult", "Scenario", "UserError", "build", "evaluate", "load_scenario", "parse_scenario"]
__version__ = "0.1.0"
