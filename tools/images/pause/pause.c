/*
 * The pod sandbox ("pause") process of the local real node: it holds the pod's namespaces, reaps the zombies
 * of the pid namespace it leads, and exits on SIGTERM/SIGINT. Built with `gcc -static` so the image is one file.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction term = {0};
  term.sa_handler = on_term;
  sigaction(SIGINT, &term, 0);
  sigaction(SIGTERM, &term, 0);
  struct sigaction child = {0};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &child, 0);
  for (;;) pause();
}
