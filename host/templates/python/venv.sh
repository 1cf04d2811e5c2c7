# Sourced by build.sh and test.sh: the virtual environment `.venv`, made on
# first use and brought up to date when requirements.txt changes.
if [ ! -x .venv/bin/python ] || [ requirements.txt -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  touch .venv/.installed
fi
