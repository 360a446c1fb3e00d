"""Export and import (DOC-9): a Markdown zip for people, a full-fidelity archive for moving a
workspace."""
