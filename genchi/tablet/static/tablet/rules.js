// The visit rules on the device: the table the server derives from fieldwork's
// `visit_problems` (genchi/tablet/field_day.py) evaluated over the form's values. No code,
// label or message lives here; the server runs the same rules again at sync up.

// The form's raw values read as the server's form reads them: true/false for the fields
// whose choices coerce to booleans (the definition says which value is true).
function valueOf(definitions, data, name) {
  const raw = data[name];
  const field = definitions[name];
  if (field && field.kind === "checkbox") return Boolean(raw) && raw !== "false";
  if (field && field.true_values) return raw == null || raw === "" ? null : field.true_values.includes(raw);
  return raw == null ? "" : String(raw).trim();
}

function isEmpty(value) {
  return value === null || value === "" || value === false;
}

function holds(condition, value, now) {
  switch (condition.op) {
    case "filled":
      return !isEmpty(value);
    case "empty":
      return isEmpty(value);
    case "true":
      return value === true;
    case "false":
      return !value;
    case "in":
      return condition.values.includes(value);
    case "not_in":
      return !condition.values.includes(value);
    case "not_number":
      return !/^[-+]?(\d+\.?\d*|\.\d+)$/.test(String(value));
    case "outside": {
      const number = Number(value);
      return Number.isFinite(number) && (number < condition.range[0] || number > condition.range[1]);
    }
    case "future": {
      const at = Date.parse(value);
      return Number.isFinite(at) && at > now + condition.skew_seconds * 1000;
    }
    default:
      return false; // an unknown condition flags nothing here: the server decides
  }
}

// {field: message} for the rules the values break; a field takes its first rule.
export function visitProblems(rules, form, data, now = Date.now()) {
  const definitions = Object.fromEntries(form.map((f) => [f.name, f]));
  const problems = {};
  for (const rule of rules) {
    if (rule.field in problems) continue;
    if (rule.when.every((c) => holds(c, valueOf(definitions, data, c.field), now))) {
      problems[rule.field] = rule.message;
    }
  }
  return problems;
}
