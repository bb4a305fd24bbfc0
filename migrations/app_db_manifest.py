"""Written by `app-db manifest`: each migration's file, id, name and the sha256 of its source.

Builds that ship bytecode only (frozen apps, zips of .pyc files) take ids and checksums from here,
so they record what a run from source records. Write it again after adding a migration (`app-db check`
says when it is out of date) and ship it with the migrations; never edit it by hand.
"""

MIGRATIONS = {
    '001_initial_schema.py': ('20240601_090000_initial_schema', 'Create notes and tags', 'c5b1239cb1aa31fc82984dbe3a515ef063113dbfa408860ca7d9596b42f880df'),
    '002_add_user_preferences.py': ('20240602_130000_add_user_preferences', 'Add user preferences table', '8c2b43ff4b5e0a535e73e7d761913209f61ab8d02da8d0791476ac9ed574d4ea'),
    '003_add_font_size_preference.py': ('20240715_101500_add_font_size_preference', 'Add font size preference', '06cbbc3fcfe8f6338936b506a3f36519378ec1b154a613a58a102463567c069a'),
    '004_add_pinned_notes.py': ('20240903_164500_add_pinned_notes', 'Add pinned notes', 'dc8203cccf39531f1ea8a93209297a65eef731aff8ac41393541e80b351e5546'),
    '005_add_note_titles.py': ('20241120_093000_add_note_titles', 'Add note titles', '0973057aff7bc5d2defedb3d347dac578c4184bfc13cf1df01b767fdf8989a32'),
    '006_derive_titles_from_first_lines.py': ('20241120_093100_derive_titles_from_first_lines', 'Move first lines into titles', 'bdfe8b87b022ec2b4a8f2a28a246522a994dff6a92fda9fed60d7fa916546b12'),
    '007_require_note_titles.py': ('20241120_093200_require_note_titles', 'Require a title on every note', '5f24be867d7e4eddd3ed8b39a288de2dca4e45fe69866cf13a8257b872eccdf7'),
}
