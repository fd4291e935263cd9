package catalog

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/selfhosted-go/selfhosted/pkg/scaffold"
)

// exported returns the exported functions of the Go files matched by glob.
func exported(t *testing.T, glob string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(glob)
	require.NoError(t, err)
	out := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.IsExported() {
				out[fn.Name.Name] = true
			}
		}
	}
	return out
}

// The catalog is the command line's documentation: it must name every
// target there is, and no other.
func TestCatalogDescribesEveryTarget(t *testing.T) {
	stack := exported(t, "../../targets/*.go")
	delete(stack, "PrepareTests") // a hook, not a target (it takes a function)
	dev := exported(t, "../../magefile.go")

	var want, got []string
	for name := range stack {
		want = append(want, name)
	}
	for name := range dev {
		want = append(want, name)
	}
	for _, target := range Targets {
		got = append(got, target.Func)
		assert.NotEmpty(t, target.Summary, target.Name)
		assert.Contains(t, target.Example, "go tool mage "+target.Name, target.Name)
		assert.Contains(t, Groups, target.Group, target.Name)
		for _, v := range target.Vars {
			_, ok := variable(v)
			assert.True(t, ok, "%s reads %s, which Variables does not describe", target.Name, v)
		}
		if target.Group == "Development" {
			assert.True(t, dev[target.Func], "%s is in magefile.go", target.Func)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got)
}

// Every hyphenated Makefile name is an alias of the repository's magefile,
// and of the one `selfhosted new` writes (Mage reads aliases from a map
// literal in the magefile itself, so each magefile spells them out), so
// upstream mage knows them too.
func TestMagefileAliasesTheMakefileNames(t *testing.T) {
	t.Run("this repository", func(t *testing.T) {
		src, err := os.ReadFile("../../magefile.go")
		require.NoError(t, err)
		checkAliases(t, string(src), true)
	})
	t.Run("a new stack repository", func(t *testing.T) {
		checkAliases(t, scaffold.Magefile, false)
	})
}

func checkAliases(t *testing.T, src string, development bool) {
	file, err := parser.ParseFile(token.NewFileSet(), "magefile.go", src, 0)
	require.NoError(t, err)
	aliases := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		key, ok := kv.Key.(*ast.BasicLit)
		if !ok {
			return true
		}
		var b bytes.Buffer
		switch v := kv.Value.(type) {
		case *ast.SelectorExpr:
			b.WriteString(v.Sel.Name)
		case *ast.Ident:
			b.WriteString(v.Name)
		}
		aliases[strings.Trim(key.Value, `"`)] = b.String()
		return true
	})
	for _, target := range Targets {
		if strings.Contains(target.Name, "-") && (development || target.Group != "Development") {
			assert.Equal(t, target.Func, aliases[target.Name], "alias %s", target.Name)
		}
	}
}

func TestSuggest(t *testing.T) {
	for typed, want := range map[string][]string{
		"lgos":          {"logs"},
		"list-snapshot": {"list-snapshots"},
		"depoly":        {"deploy"},
		"zzzzzzzz":      nil,
	} {
		assert.Equal(t, want, Suggest(typed, Names()), typed)
	}
}

func TestFindTakesEveryFormOfAName(t *testing.T) {
	for _, name := range []string{"list-snapshots", "ListSnapshots", "listsnapshots", "LIST-SNAPSHOTS"} {
		target, ok := Find(name)
		assert.True(t, ok, name)
		assert.Equal(t, "list-snapshots", target.Name)
	}
	_, ok := Find("nosuch")
	assert.False(t, ok)
}
