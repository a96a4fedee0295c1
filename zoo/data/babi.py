"""bAbI v1.2 (Weston et al., 2015): parsing, folders, splits and tasks.

The official format is one line per sentence, ``ID text``, or per question,
``ID question<TAB>answer<TAB>supporting ids``; ``ID`` restarts at 1 with each
new story. Tasks 8 and 19 have comma-separated answers (``apple,football``,
``n,w``), kept whole as one answer word, as in the paper's code.
"""

import dataclasses
import glob
import os
import re

FOLDERS = ("en", "en-10k", "en-valid", "en-valid-10k")
SPLITS = ("train", "valid", "test")
TASKS = tuple(range(1, 21))
SIZES = {"1k": "en-valid", "10k": "en-valid-10k"}

_TOKEN = re.compile(r"[a-z0-9']+")
MAX_WORDS = 100  # a longer sentence or question is an error: every sentence of a batch is padded to the longest


class BabiFormatError(ValueError):
    """A bAbI file that does not follow the format; names file and line."""

    def __init__(self, path, line_no, message):
        super().__init__(f"{path}:{line_no}: {message}")
        self.path = path
        self.line_no = line_no


@dataclasses.dataclass(frozen=True)
class Example:
    """One question with the story told before it.

    ``story`` holds every sentence of the story so far (oldest first), each a
    tuple of tokens; ``supporting`` indexes into ``story``.
    """

    story: tuple
    query: tuple
    answer: str
    supporting: tuple
    task: int = 0


def tokenize(text):
    """Lower-cases and splits a sentence into words; drops '.' and '?'."""
    return tuple(_TOKEN.findall(text.lower()))


def parse_lines(lines, path="<text>", task=0, max_words=MAX_WORDS):
    """Parses bAbI lines into a list of :class:`Example`.

    A line without a TAB is a story sentence, so one with a '?' is a
    question whose TABs were lost (an error, not a sentence). Sentences and
    questions must have a word and at most ``max_words`` words.

    Raises:
        BabiFormatError: with the file and line number of the first bad line.
    """
    examples = []
    story = []  # tokens of each sentence of the current story
    line_of_id = {}  # bAbI id -> index into story
    expected = 1
    for line_no, raw in enumerate(lines, start=1):
        line = raw.rstrip("\n").rstrip("\r")
        if not line.strip():
            continue
        head, _, rest = line.partition(" ")
        if not (head.isascii() and head.isdigit()):
            raise BabiFormatError(path, line_no, f"expected 'ID text', got {line[:60]!r}")
        line_id = int(head)
        if line_id == 1:
            story, line_of_id = [], {}
        elif line_id != expected:
            raise BabiFormatError(path, line_no, f"line id {line_id} follows {expected - 1}; ids go up by one and restart at 1")
        expected = line_id + 1
        if "\t" in rest:
            fields = rest.split("\t")
            if len(fields) != 3 or not fields[1].strip():
                raise BabiFormatError(path, line_no, "a question needs 'question<TAB>answer<TAB>supporting ids'")
            question, answer, support = fields
            _check_words(tokenize(question), "question", path, line_no, max_words)
            try:
                support_ids = [int(s) for s in support.split()]
            except ValueError:
                raise BabiFormatError(path, line_no, f"supporting ids must be integers, got {support!r}") from None
            missing = [s for s in support_ids if s not in line_of_id]
            if missing:
                raise BabiFormatError(path, line_no, f"supporting id(s) {missing} name no sentence of this story")
            answer_words = [w for w in re.split(r"[,\s]+", answer.strip().lower()) if w]
            if not answer_words or not all(_TOKEN.fullmatch(w) for w in answer_words):
                raise BabiFormatError(path, line_no, f"an answer is words of [a-z0-9'] separated by commas, got {answer!r}")
            examples.append(Example(
                story=tuple(story),
                query=tokenize(question),
                answer=",".join(answer_words),
                supporting=tuple(line_of_id[s] for s in support_ids),
                task=task,
            ))
        else:
            if not rest.strip():
                raise BabiFormatError(path, line_no, "empty sentence")
            if "?" in rest:
                raise BabiFormatError(path, line_no, "a question without TABs; a question needs "
                                                     "'question<TAB>answer<TAB>supporting ids'")
            words = tokenize(rest)
            _check_words(words, "sentence", path, line_no, max_words)
            line_of_id[line_id] = len(story)
            story.append(words)
    return examples


def _check_words(words, what, path, line_no, max_words):
    if not words:
        raise BabiFormatError(path, line_no, f"the {what} has no word (words are runs of a-z, 0-9 and ')")
    if len(words) > max_words:
        raise BabiFormatError(path, line_no, f"the {what} has {len(words)} words; at most {max_words} "
                                             f"(max_words) are read")


def _text_lines(path):
    """The lines of a UTF-8 text file; a binary or other-encoding file is a BabiFormatError at its line."""
    with open(path, "rb") as f:
        data = f.read()
    for line_no, raw in enumerate(data.split(b"\n"), start=1):
        if b"\0" in raw:
            raise BabiFormatError(path, line_no, "binary data (a NUL byte): not a bAbI text file")
        try:
            yield raw.decode("utf-8") + "\n"
        except UnicodeDecodeError as err:
            raise BabiFormatError(path, line_no, f"not UTF-8 text (byte 0x{raw[err.start]:02x} at column "
                                                 f"{err.start + 1}); bAbI files are UTF-8") from None


def parse_file(path, task=0, max_words=MAX_WORDS):
    """Parses one bAbI file; errors name the file and line."""
    if os.path.isdir(path):
        raise FileNotFoundError(f"{path} is a folder, not a bAbI file")
    return parse_lines(_text_lines(path), path=path, task=task, max_words=max_words)


def task_file(data_dir, folder, task, split):
    """Path of one task's split file, or a clear FileNotFoundError."""
    if folder not in FOLDERS:
        raise ValueError(f"unknown bAbI folder {folder!r}; valid: {', '.join(FOLDERS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: 1 to 20")
    base = os.path.join(data_dir, folder)
    if not os.path.isdir(base):
        # Accept both the release root and its parent.
        alt = os.path.join(data_dir, "tasks_1-20_v1-2", folder)
        if os.path.isdir(alt):
            base = alt
        else:
            raise FileNotFoundError(f"no bAbI folder {folder!r} under {data_dir!r} (looked for {base})")
    if folder.startswith("en-valid"):
        pattern = os.path.join(base, f"qa{task}_{split}.txt")
    else:
        pattern = os.path.join(base, f"qa{task}_*_{split}.txt")
    found = sorted(glob.glob(pattern))
    if not found:
        hint = " (the en and en-10k folders have no valid split; use en-valid or en-valid-10k)" if split == "valid" else ""
        raise FileNotFoundError(f"bAbI split {split!r} of task {task} not found: no file matches {pattern}{hint}")
    return found[0]


def parse_tasks(tasks):
    """'all', an int, '1,2,5' or a list -> sorted tuple of task numbers."""
    if tasks in (None, "all"):
        return TASKS
    if isinstance(tasks, int):
        tasks = [tasks]
    elif isinstance(tasks, str):
        try:
            tasks = [int(t) for t in tasks.split(",") if t.strip()]
        except ValueError:
            raise ValueError(f"tasks must be 'all' or numbers from 1 to 20 separated by commas, got {tasks!r}") from None
    bad = [t for t in tasks if t not in TASKS]
    if bad or not tasks:
        raise ValueError(f"tasks must be 'all' or numbers from 1 to 20, got {tasks!r}")
    return tuple(sorted(set(tasks)))


def resolve_folder(size_or_folder):
    """'1k' / '10k' / a folder name -> folder name."""
    folder = SIZES.get(size_or_folder, size_or_folder)
    if folder not in FOLDERS:
        raise ValueError(f"unknown bAbI size {size_or_folder!r}; valid: {', '.join(list(SIZES) + list(FOLDERS))}")
    return folder


def load_split(data_dir, folder="en-valid", tasks="all", split="train", skip_missing=False):
    """Parses a split of one or more tasks; returns (examples, missing files).

    ``skip_missing`` allows a task whose file is absent (task 3 of the 10k
    training data in the shared copy); the missing tasks are returned so that
    callers can say so.
    """
    folder = resolve_folder(folder)
    examples, missing = [], []
    for task in parse_tasks(tasks):
        try:
            path = task_file(data_dir, folder, task, split)
        except FileNotFoundError:
            if not skip_missing:
                raise
            missing.append(task)
            continue
        examples.extend(parse_file(path, task=task))
    if not examples:
        raise FileNotFoundError(f"no bAbI examples for split {split!r} of tasks {tasks} in {data_dir}/{folder}")
    return examples, missing


_TASK_IN_NAME = re.compile(r"qa(\d+)_")


_GIVEN_TASK = re.compile(r"^(.*):(\d+)$")


def split_paths(paths, flag="files"):
    """'a.txt,b.txt:3' or a list of such -> [(path, task or None)]; each path must be a file.

    ``FILE:N`` gives the file's task, N from 1 to 20."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [p for p in os.fspath(paths).split(",") if p.strip()]
    if not paths:
        raise ValueError(f"{flag} names no file; give FILE[,FILE...] in bAbI format (FILE:N gives its task N)")
    found = []
    for path in map(os.fspath, paths):
        task, given = None, _GIVEN_TASK.match(path)
        if given and not os.path.exists(path):
            path, task = given.group(1), int(given.group(2))
            if task not in TASKS:
                raise ValueError(f"{flag}: {path}:{task}: a task is a number from 1 to 20")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{flag}: no such file {path!r}")
        found.append((path, task))
    return found


def file_tasks(paths, flag="files"):
    """[(path, task)]: N where given as ``FILE:N``, else the N of 'qaN_' in the file's name (the official names
    keep their tasks), else its place in the list (1, 2, ...: one file is task 1)."""
    tasks = []
    for place, (path, task) in enumerate(split_paths(paths, flag), start=1):
        named = _TASK_IN_NAME.search(os.path.basename(path))
        tasks.append((path, task or (int(named.group(1)) if named else place)))
    return tasks


def load_files(paths, flag="files", max_words=MAX_WORDS):
    """Examples of bAbI-format files given by path (any names; tasks as :func:`file_tasks`).

    Returns (examples, {path: task}); a malformed file raises BabiFormatError with file and line.
    """
    examples, tasks = [], {}
    for path, task in file_tasks(paths, flag):
        found = parse_file(path, task=task, max_words=max_words)
        if not found:
            raise BabiFormatError(path, 1, "no question in this file (a question is 'ID question<TAB>answer<TAB>"
                                           "supporting ids')")
        examples.extend(found)
        tasks[os.path.abspath(path)] = task
    return examples, tasks
