package jinja

// Jinja's builtin tests (jinja2/tests.py).

var tests map[string]testFunc

func init() {
	is := func(pred func(any) bool) testFunc {
		return func(_ *renderer, v any, a *args) bool {
			a.bind("test")
			return pred(v)
		}
	}
	cmp := func(op string) testFunc {
		return func(_ *renderer, v any, a *args) bool {
			p := a.bind(op, "other")
			if p[0] == nil {
				throw("test %s needs an argument", op)
			}
			return compare(op, v, p[0])
		}
	}
	tests = map[string]testFunc{
		"defined":   is(func(v any) bool { _, u := v.(*undefined); return !u }),
		"undefined": is(func(v any) bool { _, u := v.(*undefined); return u }),
		"none":      is(func(v any) bool { _, ok := v.(none); return ok }),
		"boolean":   is(func(v any) bool { _, ok := v.(bool); return ok }),
		"true":      is(func(v any) bool { b, ok := v.(bool); return ok && b }),
		"false":     is(func(v any) bool { b, ok := v.(bool); return ok && !b }),
		"integer":   is(func(v any) bool { _, ok := v.(int); return ok }),
		"float":     is(func(v any) bool { _, ok := v.(float64); return ok }),
		"number": is(func(v any) bool {
			_, _, _, ok := toNumber(v)
			return ok
		}),
		"string":  is(isString),
		"mapping": is(func(v any) bool { _, ok := v.(*Dict); return ok }),
		"sequence": is(func(v any) bool {
			switch x := v.(type) {
			case string, Markup, *List, Tuple, *Dict, rangeVal, groupTuple:
				return true
			case *undefined:
				return x.lenient // has __len__ and __getitem__
			}
			return false
		}),
		"iterable": is(func(v any) bool {
			if u, ok := v.(*undefined); ok && !u.lenient {
				u.fail() // StrictUndefined.__iter__ fails; the plain one is empty
			}
			return iterable(v)
		}),
		"callable": is(func(v any) bool {
			switch v.(type) {
			case *macro, builtin, *boundMethod, *loopCtx, *joiner, *undefined:
				return true
			}
			return false
		}),
		"escaped": is(func(v any) bool { _, ok := v.(Markup); return ok }),
		"lower":   is(func(v any) bool { return pyIsLower(str(v)) }),
		"upper":   is(func(v any) bool { return pyIsUpper(str(v)) }),
		"odd": is(func(v any) bool {
			return equal(binary("%", v, 2), 1)
		}),
		"even": is(func(v any) bool {
			return equal(binary("%", v, 2), 0)
		}),
		"divisibleby": func(_ *renderer, v any, a *args) bool {
			p := a.bind("divisibleby", "num")
			if p[0] == nil {
				throw("test_divisibleby() missing 1 required positional argument: 'num'")
			}
			return equal(binary("%", v, p[0]), 0)
		},
		"sameas": func(_ *renderer, v any, a *args) bool {
			p := a.bind("sameas", "other")
			if p[0] == nil {
				throw("test_sameas() missing 1 required positional argument: 'other'")
			}
			return sameAs(v, p[0])
		},
		"in": func(_ *renderer, v any, a *args) bool {
			p := a.bind("in", "seq")
			if p[0] == nil {
				throw("test_in() missing 1 required positional argument: 'seq'")
			}
			return contains(p[0], v)
		},
		"filter": is(func(v any) bool {
			s, ok := v.(string)
			_, known := filters[s]
			return ok && known
		}),
		"test": is(func(v any) bool {
			s, ok := v.(string)
			_, known := tests[s]
			return ok && known
		}),
		"eq": cmp("=="), "equalto": cmp("=="), "==": cmp("=="),
		"ne": cmp("!="), "!=": cmp("!="),
		"lt": cmp("<"), "lessthan": cmp("<"), "<": cmp("<"),
		"le": cmp("<="), "<=": cmp("<="),
		"gt": cmp(">"), "greaterthan": cmp(">"), ">": cmp(">"),
		"ge": cmp(">="), ">=": cmp(">="),
	}
}

// sameAs is Python's `is` as far as it is predictable: None, booleans and
// small ints are singletons; containers are the same object.
func sameAs(a, b any) bool {
	switch x := a.(type) {
	case none:
		_, ok := b.(none)
		return ok
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int:
		y, ok := b.(int)
		return ok && x == y && x >= -5 && x <= 256
	case *List, *Dict, *macro, *namespace:
		return a == b
	}
	return false
}
