"""Code that lets a user leave Layerlab with their work.

`model_code.model_code` writes the model as a plain Keras script; `script.training_script`
writes the whole project (loading, splitting, preparing, building, training) as one
standalone script. The script's fixed parts are real Python files in `templates/`,
filled by `fill.template`; the parts that must do exactly what the engine does are
either the engine's public source (`fill.engine_source`) or, for the few engine helpers
that are still private, a template copy pinned to the engine by tests/engine/test_codegen_templates.py.
"""
