"""The bottom layer every other may use: reading YAML files and validating mappings
against typed dataclass sections (unknown, missing and duplicate keys, types, bounds,
enumerations), with errors naming the file and the dotted key."""

from imcsim.config.fields import non_negative, one_of, positive
from imcsim.config.sections import build_section, join_key, set_dotted
from imcsim.config.yaml_file import read_yaml

__all__ = ["build_section", "join_key", "non_negative", "one_of", "positive", "read_yaml",
           "set_dotted"]
