// Answers nothing: every request waits a minute on a timer.
export default { async fetch() { await new Promise((resolve) => setTimeout(resolve, 60000)); return new Response("late"); } };
