# SPDX-License-Identifier: GPL-2.0-only
# bash completion for tunnelguard(8): the commands, the options each command accepts (the CLI
# refuses the others), files after -c, directories after --pin-dir and --cgroup.
# Self-contained, so it works without the bash-completion package's helpers.

_tunnelguard()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev="" option command="" i word
	local commands="load unload status check daemon events"
	local global="-c --config --pin-dir -v --verbose -h --help --version"
	local with_value=" -c --config --pin-dir --cgroup --uid --port --bind --addr --interval "
	local -A per_command=(
		[load]="--cgroup --no-self-test"
		[unload]=""
		[status]="--json --prometheus"
		[check]="--uid --port --bind --addr --json"
		[daemon]="--json --interval --cgroup --no-self-test"
		[events]="--follow --json"
	)

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# bash splits --config=FILE at '=' (COMP_WORDBREAKS): find the option before the '='.
	option=$prev
	if [[ $cur == "=" ]]; then
		cur=""
	elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
		option=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	COMPREPLY=()
	case $option in
	-c | --config)
		compopt -o filenames 2>/dev/null || true
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	--pin-dir | --cgroup)
		compopt -o filenames 2>/dev/null || true
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	--addr)
		mapfile -t COMPREPLY < <(compgen -W "127.0.0.1 ::1" -- "$cur")
		return 0
		;;
	--uid | --port | --bind | --interval)
		return 0 # a number: nothing to offer
		;;
	esac

	# The command is the first word that is neither an option nor an option's value.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ $with_value == *" $word "* ]]; then
			((i++))
			[[ ${COMP_WORDS[i]} == "=" ]] && ((i++))
		elif [[ $word != -* && -n ${per_command[$word]+set} ]]; then
			command=$word
			break
		fi
	done

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$global ${command:+${per_command[$command]}}" \
			-- "$cur")
	elif [[ -z $command ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
	fi
	return 0
}

complete -F _tunnelguard tunnelguard
