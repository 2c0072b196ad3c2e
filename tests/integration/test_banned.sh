#!/usr/bin/env bash
# No banned function in the sources (see scripts/banned.sh).
exec bash "${PACSD_SOURCE_DIR:?}/scripts/banned.sh"
