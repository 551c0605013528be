# Sphinx configuration of the documentation site (tools/build-docs.sh, make docs).
# The site is built offline: no intersphinx inventory is fetched, and the theme's
# trackers, search service and advertising are off.

project = 'realtime.nginx'
project_copyright = 'realtime.nginx contributors'
title = 'realtime.nginx'
html_short_title = 'realtime.nginx'

extensions = ['sphinx_antsibull_ext', 'myst_parser']

source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = []

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_theme_options = {
    'show_extranav': False,
    'show_rtd_ethical_ads': False,
    'satellite_tracking': False,
    'display_version': False,
}
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_title = 'realtime.nginx'

# No network during the build.
intersphinx_mapping = {}

default_role = 'any'
nitpicky = True

# Markdown guides: anchors for "#section" links as on GitHub, and tables,
# strikethrough and autolinks as GitHub renders them.
myst_heading_anchors = 4
myst_enable_extensions = ['strikethrough']

# The generated reference links to pages of docs.ansible.com (the common return
# values, the configuration settings, ansible.builtin's modules). Without
# intersphinx, which would fetch docs.ansible.com's inventory during the build,
# these few labels are linked to their pages directly; any other unresolved
# reference still fails the build.
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/latest/'
ANSIBLE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
    'action_plugins': 'plugins/action.html',
}


def _ansible_docs_url(target):
    if target in ANSIBLE_LABELS:
        return ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    parts = target.split('.')
    # ansible_collections.NAMESPACE.NAME.PLUGIN_TYPE, for collections other than this one
    if len(parts) == 4 and parts[0] == 'ansible_collections' and parts[1:3] != ['realtime', 'nginx']:
        return '%scollections/%s/%s/%s.html' % (ANSIBLE_DOCS, parts[1], parts[2], parts[3])
    return None


def _link_to_ansible_docs(app, env, node, contnode):
    from docutils import nodes
    if node.get('refdomain') != 'std' or node.get('reftype') != 'ref':
        return None
    url = _ansible_docs_url(node.get('reftarget', ''))
    if url is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference += contnode
    return reference


def setup(app):
    app.connect('missing-reference', _link_to_ansible_docs)
