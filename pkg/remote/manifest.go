package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	gitignore "github.com/sabhiram/go-gitignore"

	"github.com/selfhosted-go/selfhosted/internal/atomicfile"
	"github.com/selfhosted-go/selfhosted/internal/filehash"
)

// Entry is one file or folder of a tree, as both sides describe it.
type Entry struct {
	Path  string // slash-separated, relative to the tree's root
	Dir   bool
	Mode  fs.FileMode
	Size  int64
	MTime int64 // seconds
	Hash  string
}

// Manifest maps paths to entries.
type Manifest map[string]Entry

// IgnoreFile lists what is not uploaded, in gitignore syntax.
const IgnoreFile = ".deployignore"

// defaultIgnore applies when a stack has no .deployignore.
var defaultIgnore = []string{".git/", ".idea/", ".vscode/", "*.swp", "*~", ".DS_Store", "/bin/", "/dist/"}

// EnvFile is always uploaded with mode 0600: it holds the secrets.
const EnvFile = ".env"

// Ignore returns the matcher for root's .deployignore (or the defaults).
func Ignore(root string) (*gitignore.GitIgnore, error) {
	lines := defaultIgnore
	data, err := os.ReadFile(filepath.Join(root, IgnoreFile))
	if err == nil {
		lines = strings.Split(string(data), "\n")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return gitignore.CompileIgnoreLines(lines...), nil
}

// LocalManifest describes root minus the ignored paths, hashing every file.
// Symbolic links are not uploaded and are reported as an error naming them.
func LocalManifest(root string, ignore *gitignore.GitIgnore) (Manifest, error) {
	m, _, err := localManifest(root, ignore, nil)
	return m, err
}

// hashKey identifies a file's content well enough to reuse its hash: the
// same size and the same nanosecond mtime.
type hashKey struct {
	size, mtimeNs int64
}

// HashCache remembers local hashes between pushes, so an unchanged tree is
// not read again. It lives in the user's cache folder, one file per tree.
type HashCache struct {
	path    string
	entries map[string]cachedHash
}

type cachedHash struct {
	key  hashKey
	hash string
}

// OpenHashCache loads the cache for the tree at root (empty when missing).
func OpenHashCache(root string) *HashCache {
	c := &HashCache{entries: map[string]cachedHash{}}
	dir, err := os.UserCacheDir()
	abs, err2 := filepath.Abs(root)
	if err != nil || err2 != nil {
		return c
	}
	sum := sha256.Sum256([]byte(abs))
	c.path = filepath.Join(dir, "selfhosted", "upload-"+hex.EncodeToString(sum[:8])+".tsv")
	data, err := os.ReadFile(c.path)
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, "\t", 4)
		if len(f) != 4 {
			continue
		}
		size, _ := strconv.ParseInt(f[1], 10, 64)
		ns, _ := strconv.ParseInt(f[2], 10, 64)
		c.entries[f[3]] = cachedHash{key: hashKey{size, ns}, hash: f[0]}
	}
	return c
}

// Save writes the cache (best effort: a lost cache only costs hashing).
func (c *HashCache) Save() {
	if c.path == "" {
		return
	}
	var b strings.Builder
	for path, e := range c.entries {
		fmt.Fprintf(&b, "%s\t%d\t%d\t%s\n", e.hash, e.key.size, e.key.mtimeNs, path)
	}
	_ = os.MkdirAll(filepath.Dir(c.path), 0o700)
	_ = atomicfile.WriteFileUnsynced(c.path, []byte(b.String()), 0o600)
}

// localManifest describes root, reusing and updating cache when it is not
// nil. It also returns each file's size and nanosecond mtime, so an upload
// can tell a file rewritten since it was hashed.
func localManifest(root string, ignore *gitignore.GitIgnore, cache *HashCache) (Manifest, map[string]hashKey, error) {
	m := Manifest{}
	seen := map[string]cachedHash{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if strings.ContainsAny(rel, "\t\n") {
			return fmt.Errorf("%q: file names with tabs or newlines can't be uploaded: rename it or add it to %s", rel, IgnoreFile)
		}
		match := rel
		if d.IsDir() {
			match += "/"
		}
		if ignore != nil && ignore.MatchesPath(match) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			m[rel] = Entry{Path: rel, Dir: true, Mode: info.Mode().Perm()}
		case info.Mode().IsRegular():
			key := hashKey{info.Size(), info.ModTime().UnixNano()}
			var hash string
			if cache != nil && cache.entries[rel].key == key {
				hash = cache.entries[rel].hash
			} else if hash, err = hashFile(path); err != nil {
				return err
			}
			seen[rel] = cachedHash{key: key, hash: hash}
			mode := info.Mode().Perm()
			if rel == EnvFile {
				mode = 0o600
			}
			m[rel] = Entry{Path: rel, Mode: mode, Size: info.Size(), MTime: info.ModTime().Unix(), Hash: hash}
		default:
			return fmt.Errorf("%s is a %s: only files and folders are uploaded (add it to %s to skip it)", rel, info.Mode().Type(), IgnoreFile)
		}
		return nil
	})
	if cache != nil && err == nil {
		cache.entries = seen
	}
	stamps := make(map[string]hashKey, len(seen))
	for path, c := range seen {
		stamps[path] = c.key
	}
	return m, stamps, err
}

func hashFile(path string) (string, error) { return filehash.SHA256(path) }

// ManifestScript prints the manifest of the current folder in one remote
// command, without reading any file: `find` lists every entry (type, mode,
// size, mtime, path; NUL separated), then the release's cache file holds
// the content hashes recorded when it was uploaded. A file whose size,
// mtime or mode no longer matches its cache line (changed on the server
// since) gets no hash, so it is sent again. Symbolic links and other
// special files planted on the server are listed too, so a push replaces
// them instead of writing through them.
func ManifestScript(cache string) string {
	return `find . -mindepth 1 -printf '%y %m %s %T@ %P\0' && printf '\n--cache--\n' && { cat ` + cache + ` 2>/dev/null || true; }`
}

// emptyManifest is ManifestScript's output for a missing tree.
const emptyManifest = `printf '\n--cache--\n'`

// ParseManifest reads ManifestScript's output.
func ParseManifest(out []byte) (Manifest, error) {
	listing, cache, ok := strings.Cut(string(out), "\n--cache--\n")
	if !ok {
		return nil, fmt.Errorf("unexpected manifest output from the server: %.200q", out)
	}
	m := Manifest{}
	for _, rec := range strings.Split(listing, "\x00") {
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, " ", 5)
		if len(f) != 5 {
			return nil, fmt.Errorf("unexpected manifest entry %q", rec)
		}
		mode, err := strconv.ParseUint(f[1], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("manifest entry %q: %w", rec, err)
		}
		size, _ := strconv.ParseInt(f[2], 10, 64)
		sec, _, _ := strings.Cut(f[3], ".")
		mtime, _ := strconv.ParseInt(sec, 10, 64)
		e := Entry{Path: f[4], Dir: f[0] == "d", Mode: fs.FileMode(mode), Size: size, MTime: mtime}
		if f[0] != "d" && f[0] != "f" {
			// A link, a pipe, a device: never the same as an uploaded file.
			e.Mode |= fs.ModeIrregular
		}
		m[f[4]] = e
	}
	for _, line := range strings.Split(cache, "\n") {
		c, ok := parseCacheLine(line)
		if !ok {
			continue
		}
		if e, found := m[c.Path]; found && !e.Dir && e.Size == c.Size && e.MTime == c.MTime && e.Mode == c.Mode {
			e.Hash = c.Hash
			m[c.Path] = e
		}
	}
	return m, nil
}

// CacheLine records a file as uploaded: hash, mode, size, mtime and path,
// tab separated (paths may hold neither tabs nor newlines: LocalManifest
// refuses them).
func CacheLine(e Entry) string {
	return fmt.Sprintf("%s\t%o\t%d\t%d\t%s\n", e.Hash, e.Mode.Perm(), e.Size, e.MTime, e.Path)
}

func parseCacheLine(line string) (Entry, bool) {
	f := strings.SplitN(line, "\t", 5)
	if len(f) != 5 {
		return Entry{}, false
	}
	mode, err1 := strconv.ParseUint(f[1], 8, 32)
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	mtime, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Entry{}, false
	}
	return Entry{Hash: f[0], Mode: fs.FileMode(mode), Size: size, MTime: mtime, Path: f[4]}, true
}

// Plan is what an upload changes on the server.
type Plan struct {
	Mkdir  []Entry  // folders to create (or whose mode changes)
	Upload []Entry  // files to send: new, or changed in content or mode
	Delete []string // paths on the server that no longer exist locally
	Bytes  int64    // bytes to send
}

// Empty reports whether the server is already up to date.
func (p Plan) Empty() bool { return len(p.Mkdir)+len(p.Upload)+len(p.Delete) == 0 }

// Diff plans turning remote into local, with rsync --delete semantics.
// Files are compared by content hash, size and mode, not by mtime: a file
// touched but unchanged is not sent again.
func Diff(local, remote Manifest) Plan {
	var p Plan
	for _, path := range sortedPaths(local) {
		l := local[path]
		r, found := remote[path]
		switch {
		case l.Dir:
			if !found || !r.Dir || r.Mode != l.Mode {
				p.Mkdir = append(p.Mkdir, l)
			}
		case !found || r.Dir || r.Hash != l.Hash || r.Size != l.Size || r.Mode != l.Mode:
			p.Upload = append(p.Upload, l)
			p.Bytes += l.Size
		}
	}
	for _, path := range sortedPaths(remote) {
		r := remote[path]
		l, found := local[path]
		if !found || l.Dir != r.Dir {
			// A folder's contents go with it: skip paths below a deleted folder.
			if !coveredBy(path, p.Delete) {
				p.Delete = append(p.Delete, path)
			}
		}
	}
	return p
}

func coveredBy(path string, deleted []string) bool {
	for _, d := range deleted {
		if strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

func sortedPaths(m Manifest) []string {
	paths := make([]string, 0, len(m))
	for p := range m {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}
