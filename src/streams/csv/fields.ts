/**
 * Splits one physical line into fields. Bar files are read line by line on purpose: a bar record
 * never spans lines, and a general CSV parser's recovery from a broken quote can swallow the valid
 * rows around it (csv-parse's skip-on-error did exactly that in our trials), which would break the
 * "nothing valid is lost" rule. Per line we still honour RFC 4180 quoting (`"a,b"`, `""`), since
 * exports such as QuestDB's quote timestamps.
 */
export function splitFields(line: string, delimiter: string): string[] {
  if (!line.includes('"')) {
    const parts = line.split(delimiter);
    for (let i = 0; i < parts.length; i++) parts[i] = parts[i]!.trim();
    return parts;
  }
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      field = '';
      quoted = true;
    } else if (ch === delimiter) {
      out.push(field.trim());
      field = '';
    } else {
      field += ch;
    }
  }
  out.push(field.trim());
  return out;
}

/** Picks the delimiter of a file from its first line: comma unless only `;` or tab appear. */
export function detectDelimiter(firstLine: string): string {
  if (firstLine.includes(',')) return ',';
  if (firstLine.includes('\t')) return '\t';
  if (firstLine.includes(';')) return ';';
  return ',';
}
