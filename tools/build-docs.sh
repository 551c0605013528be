#!/usr/bin/env bash
# Build the documentation site into build/docs (make docs), offline:
#   1. antsibull-docs writes the reference (the role's variables from
#      meta/argument_specs.yml, every module's and filter's docs, the extra docs
#      of docs/docsite/) as RST, from the collection as ansible-core sees it
#      (build/collections, linked to this checkout by tools/setup-venv.sh);
#   2. the Markdown guides (README.md, docs/*.md with the performance plots,
#      docs/examples/) are copied beside it as they lie in the checkout, so
#      their relative links keep working, and a page with every example's
#      files is generated;
#   3. Sphinx renders both (myst-parser reads the Markdown) with
#      tools/docsite/conf.py, failing on any warning.
# Open build/docs/index.html.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
src="${root}/build/docs-src"
out="${root}/build/docs"

rm -rf "$src" "$out"
mkdir -p "$src/collection"
chmod og-w "$src/collection"  # antsibull-docs wants its output directory writable by its owner only
antsibull-docs --config-file "${root}/tools/docsite/antsibull-docs.cfg" collection \
    --use-current --squash-hierarchy --fail-on-error --dest-dir "$src/collection" realtime.nginx >/dev/null

# Files the guides link to: the license (a download), the benchmarks' guide,
# and the release notes, which antsibull-changelog writes at a release.
cp "${root}/tools/docsite/index.rst" "${root}/README.md" "${root}/LICENSE" "$src/"
mkdir -p "$src/bench"
cp "${root}/bench/README.md" "$src/bench/"
if [ -f "${root}/CHANGELOG.rst" ]; then
    cp "${root}/CHANGELOG.rst" "$src/"
else
    printf '%s\n' 'Release notes' '=============' '' \
        'No release yet: the changes are collected as fragments in ``changelogs/fragments/``.' >"$src/CHANGELOG.rst"
fi
mkdir -p "$src/docs"
for path in "${root}"/docs/*; do
    case "$(basename "$path")" in
        docsite) ;;  # the extra docs, already rendered by antsibull-docs
        *) cp -r "$path" "$src/docs/" ;;
    esac
done

# One page with every example's files, found from the directory as the unit
# test finds them.
examples="$src/docs/examples"
{
    echo "# The examples' files"
    echo
    echo "Every file of every example in \`docs/examples/\`, and the playbook they share."
    echo
    echo '```{literalinclude} site.yml'
    echo ':language: yaml'
    echo ':caption: site.yml'
    echo '```'
    for dir in "$examples"/*/; do
        name="$(basename "$dir")"
        [ "$name" = group_vars ] && continue
        echo
        echo "## ${name}"
        (cd "$examples" && find "$name" -type f -name '*.yml' | LC_ALL=C sort) | while read -r file; do
            echo
            echo "\`\`\`{literalinclude} ${file}"
            echo ':language: yaml'
            echo ":caption: ${file}"
            echo '```'
        done
    done
} >"$examples/files.md"

sphinx-build -b html -q -W --keep-going -c "${root}/tools/docsite" "$src" "$out"
echo "build-docs: $(find "$out" -name '*.html' | wc -l) pages in ${out#"$root"/}/ (open ${out#"$root"/}/index.html)"
