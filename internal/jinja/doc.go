// Package jinja renders Jinja templates byte for byte as Jinja2 does with
// trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False and
// StrictUndefined, with pongo2 as the engine. pkg/render is its public
// face; the support table and the documented differences are there.
//
// # The model
//
// A template goes through four steps:
//
//  1. lexer.go splits the source into text and tags, applying Jinja's
//     whitespace rules (trim_blocks, lstrip_blocks, "-" and "+"), so the
//     text is already the text Jinja outputs; tokenizer.go reads a tag's
//     tokens as Jinja's lexer does (numbers, Python string escapes).
//  2. parser.go parses the tags with Jinja's grammar (a port of
//     jinja2/parser.py): expressions become nodes (expr.go) that
//     evaluate themselves with Python semantics; statements become nodes
//     (exec.go). It emits pongo2 source in which text stays text and
//     each tag becomes {% jx UNIT N %}, with {% jx_end %} (and jx_elif,
//     jx_else) closing bodies. It also does what Jinja's compiler
//     decides statically: which macros use caller/varargs/kwargs, which
//     loops bind `loop`, which blocks are top-level.
//  3. pongo2 parses that source. The "jx" tag's parser looks up node N of
//     translation unit UNIT (registered while pongo2 parses) and lets it
//     read its bodies as pongo2 node wrappers: pongo2 owns the document
//     structure and the text.
//  4. pongo2 executes the document; the statement nodes implement Jinja's
//     semantics on a renderer: scopes (frames) that loops, macros, blocks
//     and captured bodies open and `if` does not, closures for macros,
//     block stacks for {% extends %}, and the output suppression after a
//     top-level {% extends %}.
//
// pongo2's own tags and expressions are not used: their semantics differ
// from Jinja's (loop scoping, no tuples, no chained comparisons, sorted
// dicts…), and calling a Go function per operator through pongo2's
// reflection was the largest cost of rendering.
//
// Values follow Python's model (values.go): str is string, int is int,
// float is float64, bool, None, *List, Tuple, insertion-ordered *Dict,
// range objects, Markup (what tojson, escape and safe return), one-shot
// iterators for the filters that return generators in Jinja (map,
// select, unique, reverse, batch…), and the runtime's objects: macros,
// loop, namespaces, cyclers, joiners, imported templates. Undefined
// names are values too, failing when used as Jinja's StrictUndefined
// does.
//
// Errors inside expressions panic with a *failure; the statement that
// was running recovers it and reports it with its file and line
// (RuntimeError, UndefinedError). Syntax errors carry the column too.
package jinja
